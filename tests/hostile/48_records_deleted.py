"""A correct submission that starts a thread deleting everything the kernel records, as fast as it can: the
grader keeps each graded cell's records the moment the cell finishes, so a race can only cost the student
points, never earn any; flagged."""

EXPECT = {"status": "graded", "score": None, "flagged": True, "twin": "reference"}


def build(kit):
    kit.write(kit.inserted("imports", """
import os, threading, time

def _erase(folder=os.path.join(os.environ.get("ELVKIT_HIDDEN_DIR", "."), "out")):
    while True:
        time.sleep(0.001)
        for root, _, files in os.walk(folder):
            for name in files:
                try:
                    os.remove(os.path.join(root, name))
                except OSError:
                    pass

threading.Thread(target=_erase, daemon=True).start()
"""))
