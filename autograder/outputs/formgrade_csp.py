"""What ``elv formgrade``'s Jupyter server adds to nbgrader's formgrader: the pages that show a student's notebook
carry a strict Content-Security-Policy (a server extension), and the server starts no kernel (its kernel manager).

Formgrader renders a graded notebook inside its own signed-in origin, the one that can start kernels and write
the gradebook. What the student wrote is sanitised before it gets there (:mod:`autograder.outputs.safe`); this
policy is the second wall: a script runs only when it carries the nonce drawn for this response, which the
extension gives to the scripts of formgrader's own page head and navigation bar (jQuery, Backbone,
formgrade.js and its settings), which come before the notebook, and to no other. Scripts in the page's body, event handlers and ``javascript:`` URLs, wherever they came
from, do not run; nor may the page be framed, post a form elsewhere or change its base URL.
"""

from __future__ import annotations

import re
import secrets

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError, OutputTransform

__all__ = ["SubmissionPagePolicy", "NoKernels", "policy", "PAGES"]

#: the paths whose pages show a student's notebook
PAGES = re.compile(r"^/formgrader/submissions/[^/]+/?$")
_SCRIPT = re.compile(rb"<script\b", re.I)
#: where formgrader's page puts the notebook: everything after it is the student's notebook, rendered
_NOTEBOOK = re.compile(rb'<div\b[^>]*\bid="notebook"', re.I)


def policy(nonce: str) -> str:
    """The submission page's policy for the nonce of one response (MathJax from its CDN typesets the equations;
    it evaluates its configuration block)."""
    return (f"default-src 'self'; script-src 'nonce-{nonce}' 'unsafe-eval' "
            "https://cdnjs.cloudflare.com/ajax/libs/mathjax/; style-src 'self' 'unsafe-inline' "
            "https://cdnjs.cloudflare.com/ajax/libs/mathjax/; font-src 'self' data: "
            "https://cdnjs.cloudflare.com/ajax/libs/mathjax/; img-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SubmissionPagePolicy(OutputTransform):
    """Adds the policy to a submission page, and the response's nonce to every script before its notebook."""

    def __init__(self, request):
        super().__init__(request)
        self.active = bool(PAGES.match(request.path))

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        """Tornado's hook on a response's first chunk (a submission page is written whole): the policy header and
        the nonce on formgrader's own scripts."""
        if not self.active or not headers.get("Content-Type", "").startswith("text/html"):
            return status_code, headers, chunk
        nonce = secrets.token_urlsafe(18)
        own = _NOTEBOOK.search(chunk)               # formgrader's head and navigation bar end where the notebook starts
        own_end = own.start() if own else 0         # not formgrader's page: none of its scripts may run
        chunk = _SCRIPT.sub(f'<script nonce="{nonce}"'.encode(), chunk[:own_end]) + chunk[own_end:]
        headers["Content-Security-Policy"] = policy(nonce)
        if "Content-Length" in headers:
            headers["Content-Length"] = str(len(chunk))
        return status_code, headers, chunk


def _jupyter_server_extension_points():
    return [{"module": "autograder.outputs.formgrade_csp"}]


def _load_jupyter_server_extension(serverapp):
    """Install the transform on formgrader's server."""
    serverapp.web_app.add_transform(SubmissionPagePolicy)


class NoKernels(AsyncMappingKernelManager):
    """The kernel manager of formgrader's server: formgrader runs no code, so the server that shows students'
    notebooks to a signed-in TA starts no kernel, whoever asks (a page, a script, another account)."""

    async def start_kernel(self, *args, **kwargs):
        """Refuse (HTTP 403): no kernel on this server."""
        raise HTTPError(403, "elv formgrade's server runs no code: it starts no kernel")
