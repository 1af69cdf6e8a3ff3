"""Every word the web pages show, in one place: `text(key)` is the one door, and
`{name}` fields are filled by the caller (escaped). The public status page's words
(`status.*`, marked `P_`) are said in the visitor's language (`bot.web.lang`, the
`web` catalog); the dashboard's stay English."""

from __future__ import annotations

from bot.web.lang import P_, say

ENGLISH: dict[str, str] = {
    "status.title": P_("{company} status"),
    "status.normal": P_("All systems normal."),
    "status.normal_detail": P_("Nothing is known to be wrong right now."),
    "status.current": P_("Current incidents"),
    "status.resolved": P_("Resolved in the last {days} days"),
    "status.none_resolved": P_("No incident was resolved in the last {days} days."),
    "status.affected": P_("Affected: {affected}"),
    "status.since": P_("Since {when}"),
    "status.resolved_at": P_("Resolved {when}"),
    "status.no_updates": P_("We are looking into it. Updates will follow here."),
    "status.feed": P_("Subscribe to the Atom feed"),
    "status.feed_title": P_("{company} status: incidents"),
    "status.updated": P_("Updated {when}"),
    "status.open_word": P_("ongoing"),
    "status.resolved_word": P_("resolved"),
    "status.languages": P_("Languages"),
    "signin.title": "Sign in to the dashboard",
    "signin.intro": "This link signs you in once, on this browser. Press the button to go on"
    " (opening the page, or a chat's link preview, does not use the link up).",
    "signin.button": "Sign in",
    "signin.refused_title": "This link does not sign you in",
    "signin.refused": "The link was used already, is older than {minutes} minutes, or is not"
    " an agent's. Type /dashboard on the desk for a new one.",
    "signin.expired_title": "This sign-in link has expired",
    "signin.expired": "A sign-in link is valid {minutes} minutes and signs in once: this one"
    " is older, or was used already. Type /dashboard on the desk again for a new one.",
    "signin.needed_title": "Sign in first",
    "signin.needed": "Type /dashboard on the desk (the terminal desk, the staff group or the"
    " triage channel): you get a sign-in link for your eyes alone.",
    "signin.forbidden_title": "Not accepted",
    "signin.forbidden": "That form did not come from this page, or it has expired. Go back,"
    " reload the page and try again.",
    "signout.button": "Sign out",
    "signout.done_title": "Signed out",
    "signout.done": "You are signed out on this browser.",
    "dashboard.title": "{company} dashboard",
    "dashboard.signed_in": "Signed in as {agent}.",
    "nav.overview": "Overview",
    "nav.queue": "The queue now",
    "nav.status": "Status page",
    "overview.title": "Overview",
    "overview.period": "Period",
    "overview.show": "Show",
    "overview.days": "the last {days} days",
    "overview.bad_period": "Choose a period of 7, 30 or 90 days.",
    "overview.bad_table": "There is no such table: summary, by_period, handovers, unanswered"
    " or agents.",
    "overview.summary": "The period in figures",
    "overview.by_step": "By {step}",
    "overview.day": "day",
    "overview.week": "week",
    "overview.csv": "Download as CSV",
    "overview.none": "no data",
    "overview.cases_chart": "Cases opened and resolved by {step}",
    "overview.cases_desc": "Bars: cases opened and, of those, resolved, for each {step} of"
    " {period}.",
    "overview.times_chart": "Waits by {step} (medians, minutes)",
    "overview.times_desc": "Bars: the median minutes from a handover to an agent's claim and to"
    " the first reply, for each {step} of {period}; no bar where no case was handed over.",
    "overview.handovers": "Handovers by reason",
    "overview.unanswered": "Questions the bot could not answer",
    "overview.nothing": "None in this period.",
    "agents.title": "Per agent",
    "agents.intro": "Each agent's figures, of the cases they took first in {period}.",
    "agents.chart": "Cases taken and resolved, per agent",
    "agents.desc": "Bars: for each agent, the cases they claimed first in {period}, and how"
    " many of those are resolved.",
    "nav.agents": "Per agent",
    "nav.drafts": "Unanswered and drafts",
    "drafts.title": "Unanswered questions and knowledge drafts",
    "drafts.heading": "Knowledge drafts",
    "drafts.intro": "Drafts are written by /article on the desk (knowledge/drafts) and never"
    " answer a customer until someone moves them into the knowledge folder. Asked: the"
    " customers' messages of the period a draft would answer once moved in; unanswered: of"
    " those, the ones the bot said it did not know.",
    "drafts.caption": "Drafts, most asked first, {period}",
    "drafts.none_unanswered": "None in this period.",
    "drafts.none_drafts": "No drafts yet: /article on the desk turns a reply into one.",
    "drafts.problems": "These drafts cannot be read (candor kb check says why):",
    "drafts.bad_table": "There is no such table: unanswered or drafts.",
    "col.draft": "Draft",
    "col.asked": "Asked",
    "col.unanswered": "Unanswered",
    "col.file": "File",
    "where.title": "Per channel and language",
    "where.intro": "The cases opened in {period}, by the channel the customer wrote on and by"
    " the language the bot speaks to them: the figures of candor report.",
    "where.channels": "Per channel",
    "where.languages": "Per language",
    "where.channel_chart": "Cases per channel: opened, by the bot alone, handed over",
    "where.channel_desc": "Bars: for each channel, the cases opened in {period}, those the bot"
    " resolved alone, and those handed over to a person.",
    "where.language_chart": "Cases per language: opened, by the bot alone, handed over",
    "where.language_desc": "Bars: for each language, the cases opened in {period}, those the"
    " bot resolved alone, and those handed over to a person.",
    "nav.channels": "Per channel and language",
    "col.channel": "Channel",
    "col.language": "Language",
    "col.bot_alone": "By the bot alone",
    "col.handed_over": "Handed over",
    "col.wait_p90": "Wait to claim (90th pct, min)",
    "col.agent": "Agent",
    "col.taken": "Cases taken",
    "col.reply_p90": "First reply (90th pct, min)",
    "col.ratings": "Ratings",
    "col.figure": "Figure",
    "col.value": "Value",
    "col.start": "From",
    "col.opened": "Opened",
    "col.resolved": "Resolved",
    "col.bot_share": "Bot alone",
    "col.wait": "Wait to claim (median, min)",
    "col.reply": "First reply (median, min)",
    "col.rating": "Average rating",
    "col.reason": "Reason",
    "col.question": "Question",
    "col.count": "Count",
    "fig.opened": "Cases opened",
    "fig.resolved": "Cases resolved",
    "fig.bot_share": "Handled by the bot alone",
    "fig.reply_median": "First human reply, median (min)",
    "fig.reply_p90": "First human reply, 90th percentile (min)",
    "fig.wait_median": "Wait to claim, median (min)",
    "fig.wait_p90": "Wait to claim, 90th percentile (min)",
    "fig.resolution": "Opened to resolved, median (min)",
    "fig.ratings": "Ratings",
    "fig.rating_average": "Average rating (1-5)",
    "queue.title": "The queue now",
    "queue.empty": "Nobody is waiting.",
    "queue.refresh": "This page refreshes every {seconds} seconds.",
    "col.case": "Case",
    "col.customer": "Customer",
    "col.state": "State",
    "col.waiting": "Waiting since",
    "page.not_found": "There is no page here.",
    "page.not_found_title": "Not found",
    "page.bad_title": "Not understood",
    "page.bad": "That form could not be read. Go back, reload the page and try again.",
}


def text(key: str, **fields: object) -> str:
    """The text `key`, its `{fields}` filled in (plain text: escape it to show it)."""
    found = say(ENGLISH[key]) if key.startswith("status.") else ENGLISH[key]
    return found.format(**fields) if fields else found
