"""The small HTML pages an action link opens. Pure: strings in, a page out.

A page works on any phone and in any mail client's browser: no JavaScript, no external files,
inline CSS only, a real ``<form>`` whose one button POSTs (a GET never changes anything, since
mail scanners follow every link). Semantic headings and a description list, large touch targets,
a visible focus ring and a dark scheme for screens that ask for one. Every value is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from tocsin.notifications.links import ACKNOWLEDGE, RESOLVE

_STYLE = """
:root{color-scheme:light dark;--fg:#1b1b1f;--bg:#fff;--muted:#4a4a55;--line:#d0d0d7;--act:#0b57d0;--on-act:#fff}
@media (prefers-color-scheme:dark){:root{--fg:#ececf1;--bg:#16161a;--muted:#b9b9c6;--line:#3a3a44;
--act:#8ab4f8;--on-act:#0b1b33}}
*{box-sizing:border-box}
body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
background:var(--bg)}
main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem}
h1{font-size:1.375rem;line-height:1.3;margin:0 0 1rem}
p{margin:0 0 1rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0 0 1.5rem;padding:1rem;
border:1px solid var(--line);border-radius:.5rem}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
ol{margin:0 0 1.5rem;padding-left:1.5rem}li{margin:0 0 .5rem;overflow-wrap:anywhere}
button{width:100%;min-height:3rem;font:inherit;font-weight:600;border:0;border-radius:.5rem;
padding:.75rem 1rem;color:var(--on-act);background:var(--act);cursor:pointer}
button:focus-visible{outline:3px solid var(--fg);outline-offset:3px}
.note{color:var(--muted);font-size:.9375rem}
"""

VERBS = {ACKNOWLEDGE: "Acknowledge", RESOLVE: "Resolve"}
DONE = {ACKNOWLEDGE: "acknowledged", RESOLVE: "resolved"}


@dataclass(frozen=True, slots=True)
class IncidentView:
    """What a page says about the incident."""

    number: int
    title: str
    service: str
    status: str  # triggered | acknowledged | resolved
    urgency: str
    merged_into: int | None = None  # the incident it was merged into, when it was


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow"><meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)} · Tocsin</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _facts(view: IncidentView) -> str:
    rows = [("Incident", f"#{view.number}"), ("Title", view.title), ("Service", view.service),
            ("Status", view.status), ("Urgency", view.urgency)]
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl>"


def action_page(view: IncidentView, action: str, post_path: str) -> str:
    """The page a link opens: the incident and one button that POSTs the action."""
    verb = VERBS[action]
    heading = f"{verb} incident #{view.number}?"
    if view.status == "resolved":
        return already_resolved_page(view)
    note = ""
    if action == ACKNOWLEDGE and view.status == "acknowledged":
        note = '<p class="note">It is already acknowledged; acknowledging again restarts its timeout.</p>'
    form = (f'<form method="post" action="{escape(post_path, quote=True)}">'
            f'<button type="submit">{escape(verb)} incident #{view.number}</button></form>')
    return _page(heading, f"<h1>{escape(heading)}</h1>{_facts(view)}{note}{form}")


def done_page(view: IncidentView, action: str, by: str) -> str:
    """After the POST: what was done."""
    heading = f"Incident #{view.number} {DONE[action]}"
    text = f"{DONE[action].capitalize()} as {by}. Nothing more is needed here; you may close this page."
    return _page(heading, f"<h1>{escape(heading)}</h1>{_facts(view)}<p>{escape(text)}</p>")


def already_resolved_page(view: IncidentView) -> str:
    """Calm, not an error: someone (or something) resolved it first."""
    heading = f"Incident #{view.number} is already resolved"
    text = (f"It was merged into incident #{view.merged_into}, which carries on." if view.merged_into
            else "Nothing more is needed here.")
    return _page(heading, f"<h1>{escape(heading)}</h1>{_facts(view)}<p>{escape(text)}</p>")


def message_page(heading: str, text: str) -> str:
    """A page that only says something: a link that is broken or expired, a refusal."""
    return _page(heading, f"<h1>{escape(heading)}</h1><p>{escape(text)}</p>")


# --- a bundled page's "all" links ---------------------------------------------------------------

def _listing(views: list[IncidentView]) -> str:
    items = "".join(f"<li>#{v.number} {escape(v.title)} <span class=\"note\">({escape(v.service)}, "
                    f"{escape(v.status)})</span></li>" for v in views)
    return f"<ol>{items}</ol>"


def bundle_action_page(views: list[IncidentView], action: str, post_path: str) -> str:
    """The page an "all" link of a bundled page opens: its open incidents and one button for all."""
    verb, count = VERBS[action], len(views)
    heading = f"{verb} {count} incident{'s' if count != 1 else ''}?"
    form = (f'<form method="post" action="{escape(post_path, quote=True)}">'
            f'<button type="submit">{escape(verb)} all {count}</button></form>')
    return _page(heading, f"<h1>{escape(heading)}</h1>{_listing(views)}{form}")


def bundle_done_page(views: list[IncidentView], action: str, by: str) -> str:
    """After an "all" link's POST: which incidents it acted on."""
    count = len(views)
    heading = f"{count} incident{'s' if count != 1 else ''} {DONE[action]}"
    text = f"{DONE[action].capitalize()} as {by}. Nothing more is needed here; you may close this page."
    return _page(heading, f"<h1>{escape(heading)}</h1>{_listing(views)}<p>{escape(text)}</p>")
