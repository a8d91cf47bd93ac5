"""The console's HTML: one layout, small CSS, tables and forms; every text escaped unless marked safe.

Server-rendered strings, no template engine and no script: each page is a
plain document with a navigation bar, a main region and forms that post back.
Colours keep text at >= 4.5:1 against its background (WCAG AA); every input has
a label; focus is visible; the tab order is the reading order.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from urllib.parse import quote

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#111;background:#fff;
line-height:1.45;font-size:15px}
a{color:#0b4f8a}a:hover{color:#06325a}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible,summary:focus-visible{
outline:3px solid #b35900;outline-offset:2px}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5em}.skip:focus{left:.5em}
header{background:#123a5e;color:#fff;padding:.6em 1.2em;display:flex;flex-wrap:wrap;gap:1.2em;
align-items:center}
header nav{display:flex;flex-wrap:wrap;gap:.9em}
header a{color:#fff;text-decoration:none;padding:.2em .1em}header a[aria-current=page]{
border-bottom:3px solid #ffd166}
header .who{margin-left:auto;font-size:.9em}
header button{background:#fff;color:#123a5e;border:0;padding:.25em .7em;border-radius:3px;cursor:pointer}
main{padding:1em 1.4em;max-width:1250px}
h1{font-size:1.5em;margin:.2em 0 .6em}h2{font-size:1.2em;margin:1.4em 0 .5em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:14px;max-width:100%}
th,td{border:1px solid #b8b8b8;padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:#e8edf3}td.num{text-align:right;white-space:nowrap}
.cards{display:flex;flex-wrap:wrap;gap:1em;margin:.5em 0 1em}
.card{border:1px solid #b8b8b8;border-radius:4px;padding:.6em 1em;min-width:10em}
.card .n{font-size:1.6em;font-weight:bold;display:block}
.flash{background:#e6f4ea;border:1px solid #2e7d32;padding:.5em 1em;border-radius:4px}
.error{background:#fdecea;border:1px solid #b3261e;padding:.5em 1em;border-radius:4px;color:#8c1d18}
.warn{color:#8a3b00;font-weight:bold}.ok{color:#1b5e20}.behind{color:#8a1c00;font-weight:bold}
form.inline{display:inline-flex;gap:.3em;align-items:center;margin:0 .4em .2em 0}
input[type=text],input[type=number],input[type=password],select{padding:.3em;border:1px solid #666;
border-radius:3px;font-size:14px}
input[type=number]{width:6em}
button{font-size:14px;padding:.3em .8em;border:1px solid #0b4f8a;background:#0b4f8a;color:#fff;
border-radius:3px;cursor:pointer}
button.secondary{background:#fff;color:#0b4f8a}
.login{max-width:24em}main.narrow{max-width:26em;margin:3em auto}
.login label{display:block;margin:.8em 0 .2em}
.login input{width:100%}.login button{margin-top:1em}
.muted{color:#555}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
figure{margin:1em 0}figcaption{color:#444;font-size:.9em}
.scroll{overflow-x:auto;max-width:100%;position:relative}.scroll table{margin:0}.scroll{margin:.5em 0 1em}
caption{text-align:left;padding:.2em 0;color:#333}
"""

NAV = (("now", "/ui", "Now"), ("reps", "/ui/reps", "Reps"), ("leads", "/ui/leads", "Find a lead"),
       ("fairness", "/ui/fairness", "Fairness and speed"), ("experiments", "/ui/experiments", "Experiments"),
       ("reports", "/ui/reports", "Reports"))


class Safe(str):
    """HTML that is already safe (built here from escaped parts): not escaped again."""


def esc(value: object) -> str:
    return value if isinstance(value, Safe) else html.escape(str(value), quote=True)


def path_part(text: str) -> str:
    """An id as one path segment (ids may hold '/', '?', '#'...)."""
    segment = quote(text, safe="")
    return segment.replace(".", "%2E") if segment in (".", "..") else segment


def link(href: str, text: object) -> Safe:
    return Safe(f"<a href='{esc(href)}'>{esc(text)}</a>")


def page(title: str, body: str, *, active: str = "", user: str | None = None, csrf: str = "",
         message: str | None = None, error: str | None = None, signed_out: bool = False) -> str:
    """A whole console page: navigation, the page's heading, a flash message, the body.
    `signed_out`: the sign-in page, narrow and without the navigation (every link led back to it)."""
    nav = "" if signed_out else "".join(
        f"<a href='{href}'{' aria-current=page' if key == active else ''}>{esc(text)}</a>"
        for key, href, text in NAV)
    who = ""
    if user is not None:
        who = (f"<span class='who'>Signed in as {esc(user)}</span>"
               f"<form class='inline' method='post' action='/ui/logout'>{csrf_field(csrf)}"
               "<button type='submit'>Sign out</button></form>")
    notes = (f"<p class='flash' role='status'>{esc(message)}</p>" if message else "") + (
        f"<p class='error' role='alert'>{esc(error)}</p>" if error else "")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{esc(title)} — leadsolver console</title>"
            "<link rel='stylesheet' href='/ui/console.css'></head><body>"
            "<a class='skip' href='#main'>Skip to content</a>"
            f"<header><strong>leadsolver</strong>"
            + (f"<nav aria-label='Console'>{nav}</nav>" if nav else "") + f"{who}</header>"
            f"<main id='main'{' class=narrow' if signed_out else ''}><h1>{esc(title)}</h1>{notes}{body}"
            "</main></body></html>")


def table(header: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Sequence[int] = (),
          caption: str = "", scroll: str = "") -> str:
    """A table: `numeric` columns right-aligned; cells escaped unless `Safe`. A table that may be
    wider than a laptop's window (`scroll`: its name for a screen reader) scrolls sideways in a
    region of its own, reachable by Tab, instead of pushing the whole page wider."""
    head = "".join(f"<th scope='col'>{esc(h)}</th>" for h in header)
    right = set(numeric)
    body = "".join("<tr>" + "".join(f"<td class='num'>{esc(c)}</td>" if k in right else f"<td>{esc(c)}</td>"
                                    for k, c in enumerate(row)) + "</tr>" for row in rows)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    whole = f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if scroll:
        return f"<div class='scroll' role='region' tabindex='0' aria-label='{esc(scroll)}'>{whole}</div>"
    return whole


def cards(items: Iterable[tuple[str, object]]) -> str:
    """Headline counts: a label under a big number."""
    inner = "".join(f"<div class='card'><span class='n'>{esc(n)}</span>{esc(label)}</div>"
                    for label, n in items)
    return f"<div class='cards'>{inner}</div>"


def csrf_field(csrf: str) -> str:
    return f"<input type='hidden' name='csrf' value='{esc(csrf)}'>"


def button_form(action: str, label: str, csrf: str, *, secondary: bool = False,
                fields: Sequence[tuple[str, str]] = ()) -> Safe:
    """A one-button form posting to `action` (hidden `fields` with it)."""
    hidden = "".join(f"<input type='hidden' name='{esc(k)}' value='{esc(v)}'>" for k, v in fields)
    cls = " class='secondary'" if secondary else ""
    return Safe(f"<form class='inline' method='post' action='{esc(action)}'>{csrf_field(csrf)}{hidden}"
                f"<button type='submit'{cls}>{esc(label)}</button></form>")


def number_form(action: str, name: str, label: str, value: int | None, csrf: str, field_id: str,
                button: str, who: str = "") -> Safe:
    """A labelled number input and its button (an empty value lifts a cap); `who` names the row's
    rep to screen readers, so that the tenth "Capacity" field is told from the first."""
    shown = "" if value is None else str(value)
    whose = f"<span class='sr-only'> of {esc(who)}</span>" if who else ""
    return Safe(f"<form class='inline' method='post' action='{esc(action)}'>{csrf_field(csrf)}"
                f"<label for='{esc(field_id)}'>{esc(label)}{whose}</label>"
                f"<input type='number' min='0' id='{esc(field_id)}' name='{esc(name)}' value='{esc(shown)}'>"
                f"<button type='submit' class='secondary'>{esc(button)}{whose}</button></form>")
