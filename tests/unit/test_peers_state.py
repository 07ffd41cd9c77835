# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interop harness reads keepalived's state from its own ordered log, not from notify scripts.

keepalived forks notify scripts without waiting for the previous one; a MASTER -> BACKUP flip in
quick succession could leave the harness's state file at MASTER for good (issue 9: the election of
test_mixed_pair[v2-multicast-vipd_high-keepalived_low] timed out with vipd master). The harness now
takes the last "(NAME) Entering X STATE" line; the integration side is
tests/integration/test_peers_state.py.
"""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.integration.peers import keepalived_state

# keepalived 2.2.7 lines, as test_mixed_pair's election produces them (vipd preempting keepalived).
ELECTION_LOG = """\
Tue Dec  1 04:58:42 2026: Starting Keepalived v2.2.7 (01/16,2022)
Tue Dec  1 04:58:42 2026: (VI_1) removing VIPs.
Tue Dec  1 04:58:42 2026: (VI_1) Entering BACKUP STATE (init)
Tue Dec  1 04:58:42 2026: Startup complete
Tue Dec  1 04:58:46 2026: (VI_1) Entering MASTER STATE
Tue Dec  1 04:58:46 2026: (VI_1) Master received advert from 198.51.100.11 with higher priority 150, ours 100
Tue Dec  1 04:58:46 2026: (VI_1) Entering BACKUP STATE
"""


def test_last_transition_wins_whatever_the_notify_scripts_wrote():
    assert keepalived_state(ELECTION_LOG) == "BACKUP"
    assert keepalived_state(ELECTION_LOG.rsplit("(VI_1) Master received", 1)[0]) == "MASTER"


def test_init_line_is_a_state_and_nothing_before_it():
    head = ELECTION_LOG.split("Startup complete", maxsplit=1)[0]
    assert keepalived_state(head) == "BACKUP"
    assert keepalived_state(head.split("(VI_1) Entering", maxsplit=1)[0]) is None
    assert keepalived_state("") is None


def test_other_instances_do_not_count():
    text = ELECTION_LOG + "Tue Dec  1 04:58:50 2026: (VI_2) Entering MASTER STATE\n"
    assert keepalived_state(text, "VI_1") == "BACKUP"
    assert keepalived_state(text, "VI_2") == "MASTER"
    assert keepalived_state(text, "VI_") is None
    assert keepalived_state(ELECTION_LOG + "(VI_1) Entering FAULT STATE\n") == "FAULT"


STATES = st.sampled_from(["MASTER", "BACKUP", "FAULT"])
NOISE = st.text(st.characters(blacklist_characters="()"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NOISE, st.sampled_from(["VI_1", "VI_2"]), STATES), max_size=12), st.text(max_size=200))
def test_any_log_gives_the_last_logged_state_or_none(entries, junk):
    """Whatever the log holds around them, the answer is the last line for that instance."""
    lines = [junk] + ["%s: (%s) Entering %s STATE" % (noise, name, state) for noise, name, state in entries]
    text = "\n".join(lines)
    expected = [state for _noise, name, state in entries if name == "VI_1"]
    got = keepalived_state(text, "VI_1")
    # junk comes first: a later line always wins; without one, only what junk itself says counts
    assert got == (expected[-1] if expected else keepalived_state(junk, "VI_1"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.text(max_size=20))
def test_any_text_gives_none_or_a_state_word(text, name):
    got = keepalived_state(text, name)
    assert got is None or (got.isalpha() and got.isupper())
