"""Make the repository importable as ``ansible_collections.berth.compose``.

The collection root is the repository root, so unit tests import the plugins the
way Ansible does, through a namespace path that points back at this checkout.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_NS = os.path.join(ROOT, ".build", "pytest-collections")
_LINK = os.path.join(_NS, "ansible_collections", "berth", "compose")

if not os.path.islink(_LINK):
    os.makedirs(os.path.dirname(_LINK), exist_ok=True)
    try:
        os.symlink(ROOT, _LINK)
    except FileExistsError:
        pass
if _NS not in sys.path:
    sys.path.insert(0, _NS)
