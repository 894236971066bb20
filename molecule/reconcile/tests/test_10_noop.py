"""Nothing drifted: the timer's run and the controller's run change nothing; the figures of a no-op."""
import re

from conftest import ENABLE, UNIT, containers, reconciles, run_playbook, timer_run, write_figures


SCRIPT = "/usr/local/libexec/berth/sample-reconcile"


def timed_local_run(host):
    """Wall and CPU seconds (user + system of the whole process tree) of the timer's command, run
    with the unit's environment in a shell whose `times` builtin reports what its children used."""
    out = host.check_output(
        "bash -c 'export HOME=/root ANSIBLE_COLLECTIONS_PATH=/usr/local/share/berth/collections ANSIBLE_NOCOLOR=1; "
        "start=$(date +%%s.%%N); %s >/dev/null 2>&1; end=$(date +%%s.%%N); times; echo $start $end'" % SCRIPT)
    lines = out.splitlines()
    user, system = (parse_span(word) for word in lines[1].split())
    start, end = (float(word) for word in lines[2].split())
    return end - start, user + system


def parse_span(text):
    minutes, seconds = re.match(r"(\d+)m([\d.]+)s", text).groups()
    return int(minutes) * 60 + float(seconds)


def show(host, prop):
    return host.check_output("systemctl show %s -p %s --value" % (UNIT, prop))


def test_noop_from_the_timer_is_cheap_and_changes_nothing(host):
    before = containers(host)
    count = len(reconciles(host))
    code, journal = timer_run(host)
    assert code == 0, journal
    assert "nothing drifted" in journal
    assert "changed=0" in journal
    assert containers(host) == before and len(reconciles(host)) == count
    metrics = host.file("/var/lib/node_exporter/textfile_collector/berth_reconcile_sample.prom").content_string
    assert 'berth_reconcile_enabled{app="sample"} 1' in metrics
    assert 'berth_reconcile_last_result{app="sample",result="ok"} 1' in metrics
    wall, cpu = timed_local_run(host)
    assert containers(host) == before and len(reconciles(host)) == count
    controller = run_playbook("reconcile")
    assert controller.rc == 0 and controller.changed == 0, controller.out
    write_figures("reconcile-timing.txt", [
        "no-op reconcile from the VM's timer (local connection): %.1f s wall, %.1f s CPU" % (wall, cpu),
        "no-op reconcile.yml from the controller (docker connection): %.1f s" % controller.seconds,
    ])
    assert wall > 0 and cpu > 0


def test_without_the_enable_file_the_service_does_nothing(host):
    assert not host.file(ENABLE).exists
    assert host.run("systemctl start %s" % UNIT).rc == 0
    assert show(host, "ConditionResult") == "no"


def test_the_vm_has_ansible_the_collection_and_a_root_only_inventory(host):
    assert host.run("ansible-playbook --version").rc == 0
    assert host.file("/usr/local/share/berth/collections/ansible_collections/berth/compose/playbooks/reconcile.yml").exists
    inventory = host.file("/etc/berth/sample/inventory.yml")
    assert inventory.mode == 0o600 and inventory.user == "root"
    assert "ansible_connection: local" in inventory.content_string
    assert "berth_reconcile_max_failures: 2" in inventory.content_string
