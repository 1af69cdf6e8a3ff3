"""Contract: the language the bot speaks to a customer (`Customer.language`, issue 18)."""

from __future__ import annotations

from bot.model import Identity
from bot.store import Store
from tests.store.conftest import ANN, BOB, HERE, NOW, THERE


async def test_a_new_customer_has_no_language_until_one_is_set(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        assert (ann.language, ann.language_chosen) == ("", False)
        await tx.customers.set_language(ann.id, "de", False)
        seen = await tx.customers.get(ann.id)
        assert seen is not None and (seen.language, seen.language_chosen) == ("de", False)
    async with store.transaction() as tx:
        again, new = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        assert not new and (again.language, again.language_chosen) == ("de", False)
        await tx.customers.set_language(ann.id, "pt", True)
    found = await store.customer_by_identity(ANN)
    assert found is not None and (found.language, found.language_chosen) == ("pt", True)


async def test_the_language_is_the_customers_own(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Bob", THERE, NOW)
        await tx.customers.set_language(ann.id, "fr", True)
    async with store.transaction() as tx:
        seen = await tx.customers.get(bob.id)
        assert seen is not None and (seen.language, seen.language_chosen) == ("", False)


async def test_export_shows_the_language_and_forget_erases_it(store: Store) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        await tx.customers.set_language(ann.id, "es", True)
    async with store.transaction() as tx:
        data = await tx.export_customer(ann.id)
        assert data["customer"]["language"] == "es" and data["customer"]["language_chosen"]
        await tx.forget_customer(ann.id, NOW)
    async with store.transaction() as tx:
        gone = await tx.customers.get(ann.id)
        assert gone is not None and (gone.language, gone.language_chosen) == ("", False)


async def test_a_join_keeps_the_language_a_customer_chose_on_either_side(store: Store) -> None:
    """Red team s9 (finding 5): /link joined two customers and kept the kept one's
    language only: a language chosen with /language on the other channel was lost, and
    their next message could switch it."""
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Ann", THERE, NOW)
        await tx.customers.set_language(ann.id, "en", False)  # detected
        await tx.customers.set_language(bob.id, "de", True)  # chosen
        await tx.merge_customers(ann.id, bob.id, NOW)
        kept = await tx.customers.get(ann.id)
        assert kept is not None and (kept.language, kept.language_chosen) == ("de", True)


async def test_a_join_keeps_the_kept_ones_choice_and_fills_an_unsettled_one(
    store: Store,
) -> None:
    async with store.transaction() as tx:
        ann, _ = await tx.customers.for_identity(ANN, "Ann", HERE, NOW)
        bob, _ = await tx.customers.for_identity(BOB, "Ann", THERE, NOW)
        await tx.customers.set_language(ann.id, "fr", True)
        await tx.customers.set_language(bob.id, "de", True)
        await tx.merge_customers(ann.id, bob.id, NOW)
        kept = await tx.customers.get(ann.id)
        assert kept is not None and (kept.language, kept.language_chosen) == ("fr", True)
    async with store.transaction() as tx:
        cid, _ = await tx.customers.for_identity(Identity("test", "w", "cid"), "C", HERE, NOW)
        dan, _ = await tx.customers.for_identity(Identity("test", "w", "dan"), "C", THERE, NOW)
        await tx.customers.set_language(dan.id, "pt", False)
        await tx.merge_customers(cid.id, dan.id, NOW)
        kept = await tx.customers.get(cid.id)
        assert kept is not None and (kept.language, kept.language_chosen) == ("pt", False)
