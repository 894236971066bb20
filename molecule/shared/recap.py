"""ansible-playbook for the Molecule tests, with its recap as data.

Each run enables the recap_file callback (callback_plugins/), which writes every host's counts and
the set_stats data to a JSON file, the way ansible-runner's stats hold them; the tests read
"changed" from there instead of matching "changed=N" in the text output."""
import json
import os
import subprocess
import tempfile

PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")


def run_playbook(argv, env=None, timeout=900, **kwargs):
    """Run argv (an ansible-playbook command line); return (CompletedProcess, recap or None).

    recap: {"stats": {host: {"changed": N, "ok": N, ...}}, "custom_stats": {host: data},
    "global_custom_stats": data}; None when the run ended before its recap."""
    env = dict(os.environ if env is None else env)
    enabled = [name for name in env.get("ANSIBLE_CALLBACKS_ENABLED", "").split(",") if name.strip()]
    plugins = [path for path in env.get("ANSIBLE_CALLBACK_PLUGINS", "").split(os.pathsep) if path]
    handle, path = tempfile.mkstemp(prefix="recap-", suffix=".json")
    os.close(handle)
    os.unlink(path)
    env.update(BERTH_RECAP_FILE=path, ANSIBLE_CALLBACKS_ENABLED=",".join(enabled + ["recap_file"]),
               ANSIBLE_CALLBACK_PLUGINS=os.pathsep.join([PLUGINS] + plugins))
    try:
        proc = subprocess.run(argv, env=env, timeout=timeout, check=kwargs.pop("check", False), **kwargs)
        try:
            with open(path) as recap_file:
                recap = json.load(recap_file)
        except FileNotFoundError:
            recap = None
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return proc, recap


def changed(recap, host=None):
    """"changed" of host (or of the last host, as the recap prints them) in recap; None without a recap."""
    if not recap or not recap["stats"]:
        return None
    return recap["stats"][host or sorted(recap["stats"])[-1]]["changed"]
