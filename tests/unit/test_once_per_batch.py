"""The inbox worker's work once per batch: what handlers ask for, run once, without a failed item's part."""

from __future__ import annotations

from inbox.handlers import OncePerBatch


async def test_work_runs_once_per_key_with_every_entry_in_order():
    batch, seen = OncePerBatch(), []

    async def write(conn, entries):
        seen.append((conn, entries))

    for entry in ("first", "second", "third"):
        batch.add("ballots", write, entry)
    await batch.run("the connection")
    assert seen == [("the connection", ["first", "second", "third"])]
    await batch.run("the connection")  # done once: nothing is left for a second run
    assert len(seen) == 1


async def test_a_failed_items_entries_are_dropped_and_keys_run_in_the_order_first_asked():
    batch, order = OncePerBatch(), []

    def recorder(name):
        async def work(conn, entries):
            order.append((name, entries))

        return work

    batch.add("ballots", recorder("ballots"), 1)
    checkpoint = batch.checkpoint()
    batch.add("ballots", recorder("ballots"), 2)  # this item fails: its ballot goes with it
    batch.add("receipts", recorder("receipts"), "for 2")
    batch.rollback(checkpoint)
    batch.add("receipts", recorder("receipts, later"), "for 3")
    await batch.run(None)
    assert order == [("ballots", [1]), ("receipts", ["for 3"])]  # the first work under a key wins


async def test_a_lookup_is_remembered_for_the_batch_until_a_handler_forgets_it():
    batch, loads = OncePerBatch(), []

    async def load():
        loads.append(len(loads))
        return frozenset({"https://child.example/users/c"}) if len(loads) == 1 else frozenset()

    assert "https://child.example/users/c" in await batch.remember("linked children", load)
    assert "https://child.example/users/c" in await batch.remember("linked children", load)
    batch.forget("linked children")  # the child unlinked in this batch
    assert "https://child.example/users/c" not in await batch.remember("linked children", load)
    assert loads == [0, 1]
