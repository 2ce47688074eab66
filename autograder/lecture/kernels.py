"""The kernels of ``elv lecture``'s server: at most a few at a time, and none kept by a page that is gone.

Voilà starts one kernel for every page request. A page shuts its kernel down when it closes, by a request that
needs the page's login cookie and XSRF cookie; a page that never closes it (a crashed tab, a script that only
requests pages) would keep it for ever. :class:`CappedKernelManager` refuses a new kernel beyond ``max_kernels``
(after shutting down those no page has been connected to for a while), and the server culls kernels left idle without a
connection (``cull_idle_timeout``), so no one can fill the lecture machine with kernels.
"""

from __future__ import annotations

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer

__all__ = ["CappedKernelManager", "LectureIdentityProvider"]


class LectureIdentityProvider(PasswordIdentityProvider):
    """Jupyter's token login, which also gives a signed-in page its XSRF cookie.

    A Voilà page shuts its kernel down when it closes by a POST that carries the ``_xsrf`` cookie's value;
    Voilà's page handler never asks for that cookie, so none is set, the server (XSRF checks on) refuses the
    POST, and the kernel stays. Asking for the token here, on every signed-in page request, sets the cookie."""

    async def _get_user(self, handler):
        user = await super()._get_user(handler)
        if user is not None and handler.request.method in ("GET", "HEAD"):
            handler.current_user = user      # what the handler sets next; tornado's token reads it
            handler.xsrf_token               # noqa: B018 - reading it sets the _xsrf cookie
        return user


class CappedKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager with a cap on the kernels alive at once."""

    max_kernels = Integer(8, config=True, help="the most kernels alive at once (one per open demo page)")
    grace_seconds = Integer(20, config=True, help="a kernel without a page connected is shut down for a new one "
                                                  "once it has been idle this long (a page still loading keeps it)")

    async def start_kernel(self, *args, **kwargs):
        """Start a kernel; when ``max_kernels`` are alive, first shut down those no page is connected to, and
        refuse (HTTP 503) when all are in use."""
        if kwargs.get("kernel_id") is None and len(self.list_kernel_ids()) >= self.max_kernels:
            from jupyter_server._tz import utcnow

            for kernel_id in list(self.list_kernel_ids()):
                idle = utcnow() - getattr(self.get_kernel(kernel_id), "last_activity", utcnow())
                if self._kernel_connections.get(kernel_id, 0) == 0 and idle.total_seconds() > self.grace_seconds:
                    await self.shutdown_kernel(kernel_id, now=True)
            if len(self.list_kernel_ids()) >= self.max_kernels:
                raise web.HTTPError(503, f"the lecture server runs at most {self.max_kernels} demo pages at once: "
                                         "close a page and reload this one")
        return await super().start_kernel(*args, **kwargs)
