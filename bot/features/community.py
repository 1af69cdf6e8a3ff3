"""Community places, on the customer's terms.

An article (`community = "https://…"` in its front matter; a translation without
its own has the English one's) or an incident (`| community: https://…`) may name a
place where customers work on the same problem together. When a customer's question
is answered with such an article, or matches such an incident, the bot offers the
place once per case: "Others are working on this too: …". It never says who else is
there, nor how many, and offers none while notices are muted for a time (`/mute 8h`).
`/community off` (or `/mute community`) stops the offer for that customer;
`/community on` (or `/unmute community`) brings it back; `/community` lists the
places known. A message that asks for others ("I want to connect with
others who are working on similar problems", "is there a forum?") and that no
article answers gets that list, or the honest word that there is none yet, instead
of "I don't know".
"""

from __future__ import annotations

import re

from bot.i18n import N_, _
from bot.knowledge.articles import Article
from bot.registry import Feature
from bot.text import md_escape
from bot.turn import Turn

feature = Feature("community")

SHOWN = 10  # places listed at most
# asking for others, in the five shipped languages (casefolded); not a product's
# "community edition" nor a "peer review" feature
_NOT_A_PLACE = r"(?! (edition|version|plan|tier|licen[cs]e|review))"
_PEERS = re.compile(
    rf"\b(communit(y|ies){_NOT_A_PLACE}|forums?|fórum|foro|peers?{_NOT_A_PLACE}"
    r"|communauté|comunidad|comunidade"
    r"|others who|connect with others|other (customers|users|people|teams)"
    r"|andere[nr]? (kunden|nutzer|leute)|mit anderen (kunden|nutzern|leuten)"
    r"|otr[oa]s (clientes|usuari[oa]s|personas)|conectar(me)? con otr[oa]s"
    r"|autres (clients|utilisateurs|personnes)|échanger avec d'autres"
    r"|outr[oa]s (clientes|usuári[oa]s|pessoas)|conectar com outr[oa]s)\b"
)

# ... and the words that name a place for them: a menu of articles that never use one
# of these is no answer to it
_PLACE = re.compile(
    r"\b(communit(y|ies)|forums?|fórum|foro|communauté|comunidad|comunidade|peers?)\b"
)


def asks_for_peers(text: str) -> bool:
    return _PEERS.search(text.casefold()) is not None


async def offer(turn: Turn, place: str) -> None:
    """Offer a community place, unless the customer turned that off or one was
    offered on this case already."""
    if not place or await turn.tx.notices.community_off(turn.customer.id):
        return
    muted_until = (await turn.tx.notices.quiet_of(turn.customer.id))[0]
    if muted_until is not None and muted_until > turn.now:
        return  # `/mute 8h`: nothing they did not ask for meanwhile, this neither
    if not await turn.tx.notices.offer_community(turn.case.id, turn.now):
        return
    await turn.say(
        _("Others are working on this too: {place}").format(place=md_escape(place))
        + "\n"
        + _("(/community off and I won't mention such places again.)"),
        note="offered a community place",
        community=place,
    )


async def after_article(turn: Turn, article: Article) -> None:
    """What follows an article's answer: its community place, if it names one."""
    await offer(turn, article.community)


@feature.step("others on it", order=95, when=lambda turn: asks_for_peers(turn.text))
async def others(turn: Turn) -> bool:
    """Asking for others when no article answers it, nor an article offered speaks
    of such a place: the places known, or honestly none yet (not "I don't know")."""
    decision = turn.decide(turn.text)
    if decision.kind == "answer":
        return False  # an article answers it: the answer step says it (and its place)
    if decision.kind == "clarify":
        named = {found.group(0) for found in _PLACE.finditer(turn.text.casefold())}
        for candidate in decision.candidates:
            article = candidate.article
            said = " ".join((article.title, article.body, *article.questions, *article.tags))
            if not named or any(word in said.casefold() for word in named):
                return False  # the menu may well hold it ("the free plan's forum")
    await turn.say(await places_text(turn), note="listed the community places")
    return True


async def known_places(turn: Turn) -> list[tuple[str, str]]:
    """(what it is about, place) of the places the articles and open incidents name,
    each place once, the incidents' first."""
    found: dict[str, str] = {}
    for incident in await turn.tx.incidents.open_ones():
        if incident.community:
            found.setdefault(incident.community, incident.title)
    kb = turn.knowledge
    for english in kb.articles():
        article = kb.get(english.id, turn.language) or english
        if article.community:
            found.setdefault(article.community, article.title)
    return [(title, place) for place, title in found.items()]


async def places_text(turn: Turn) -> str:
    places = await known_places(turn)
    if not places:
        return _(
            "I don't know of a place where customers work on these things together yet."
            " Suggest one with /idea, or type /human and a person from the team can put"
            " you in touch."
        )
    lines = [f"• {md_escape(title)}: {md_escape(place)}" for title, place in places[:SHOWN]]
    return (
        _("Places where customers work on the same problems together:")
        + "\n"
        + "\n".join(lines)
        + "\n"
        + _("Nobody there learns anything about you from me: you choose whether to join.")
    )


async def turn_off(turn: Turn, off: bool) -> None:
    await turn.tx.notices.set_community_off(turn.customer.id, off)
    await turn.say(
        _("I won't offer community places any more. /community on brings them back.")
        if off
        else _("I'll mention a community place again when one fits your question, once per case.")
    )


@feature.command(
    "community",
    help=N_("places where customers work on the same problems together (/community off)"),
)
async def community(turn: Turn, args: str) -> None:
    spell = args.strip().lower()
    if spell in ("off", "mute", "no"):
        await turn_off(turn, True)
    elif spell in ("on", "unmute", "yes"):
        await turn_off(turn, False)
    elif not spell:
        await turn.say(await places_text(turn), note="listed the community places")
    else:
        await turn.say(_("Say /community to see the places, or /community off or /community on."))
