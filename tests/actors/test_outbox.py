"""The command outbox: what is owed to a robot, when to re-send it, what was withdrawn."""

from __future__ import annotations

from robodine_edge.actors.robots.outbox import RESEND_AFTER_S, Outbox


def owing(*ids: int) -> Outbox:
    outbox = Outbox()
    for command_id in ids:
        outbox.add(command_id, b"cmd %d\n" % command_id)
    return outbox


def test_a_reconnect_sends_everything_owed_oldest_first() -> None:
    outbox = owing(3, 1, 2)
    assert [(c.id, c.frame, c.sent_at) for c in outbox.pending()] == [
        (3, b"cmd 3\n", None),
        (1, b"cmd 1\n", None),
        (2, b"cmd 2\n", None),
    ]


def test_a_command_is_due_until_sent_then_again_once_unacknowledged_for_the_interval() -> None:
    outbox = owing(1, 2)
    first, second = outbox.pending()
    assert outbox.due(100.0) == [first, second]
    assert outbox.sent(first, 100.0) is False, "a first send is not a re-send"
    assert outbox.due(100.0) == [second]
    assert outbox.due(100.0 + RESEND_AFTER_S - 0.01) == [second]
    assert outbox.due(100.0 + RESEND_AFTER_S) == [first, second]
    assert outbox.sent(first, 105.0) is True
    assert first.sent_at == 105.0


def test_the_resend_interval_can_be_chosen() -> None:
    outbox = Outbox(resend_after_s=1.0)
    command = outbox.add(1, b"x")
    outbox.sent(command, 10.0)
    assert outbox.due(10.5) == [] and outbox.due(11.0) == [command]


def test_an_answered_command_is_owed_no_more() -> None:
    outbox = owing(1, 2)
    assert outbox.answered(1) is True
    assert outbox.answered(1) is False, "a second ack finds nothing owed"
    assert [c.id for c in outbox.pending()] == [2] and [c.id for c in outbox.due(0.0)] == [2]
    assert not outbox.withdrawn(1), "answered is not withdrawn"


def test_a_withdrawn_command_is_never_sent_again_and_known_as_withdrawn() -> None:
    outbox = owing(1, 2)
    outbox.withdraw(1)
    outbox.withdraw(9)  # never owed here: still remembered, so a late report is ignored
    assert [c.id for c in outbox.pending()] == [2]
    assert outbox.withdrawn(1) and outbox.withdrawn(9) and not outbox.withdrawn(2)
    assert outbox.answered(1) is False


def test_only_the_newest_withdrawn_ids_are_remembered() -> None:
    outbox = Outbox(withdrawn_kept=3)
    for command_id in range(1, 6):
        outbox.withdraw(command_id)
    assert [n for n in range(1, 6) if outbox.withdrawn(n)] == [3, 4, 5]
