"""releases.yml: the history table, newest first, and a JMESPath query."""
from conftest import HOSTS, run_playbook


def test_the_history_table_is_newest_first(vms):
    shown = run_playbook("releases", "-l", HOSTS[0])
    assert shown.rc == 0, shown.out
    table = shown.out[shown.out.index("when "):]
    assert "who" in table and "from -> to" in table and "duration" in table
    rows = [line for line in table.splitlines() if " task " in line or " deploy " in line]
    assert " task " in rows[0], "newest first: the last run was a task"
    assert "rolled_back" in table


def test_a_query_filters_the_records(vms):
    shown = run_playbook("releases", "-e", "query=[?outcome==`rolled_back`]")
    assert shown.rc == 0, shown.out
    # The first host rolled back once; the second never did.
    assert "1 of 1 record(s) matching [?outcome==`rolled_back`]" in shown.out
    assert "0 of 0 record(s) matching [?outcome==`rolled_back`]" in shown.out
