"""Text anchoring for interview highlights: find a selection made in the *rendered* notes in the
markdown *source*, re-anchor highlights after the notes are edited, and mark them in the HTML.

Plain functions over strings (no Django, no database), so every case can be tested directly.

Invariants:
- Offsets are Python ``str`` indices (code points) into the markdown source.
- A re-anchored highlight covers exactly the words it quoted (``text``), or the same words with
  different whitespace; otherwise it is ``detached``. It is never moved onto different words.
- Marking never changes the notes' sanitised HTML other than adding ``<mark>`` around text runs
  (a mark never spans an element boundary, so the markup stays well nested).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

CONTEXT = 48  # characters of prefix/suffix kept with a highlight (the model allows 64)

# Characters that markdown may add, drop or move between the source and the rendered text. They
# are ignored on both sides when a selection is looked up, which only ever widens a match.
_IGNORABLE = set("*_`#>[]~\\|<>-:+=!") | {"\u00a0"}
_LINK_TARGET = re.compile(r"\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_LINE_MARKER = re.compile(r"^[ \t]{0,3}(?:>[ \t]?)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])(?:[ \t]+|$))?", re.MULTILINE)
_ENTITY = re.compile(r"&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# A tag, quoted attribute values included: a sanitised URL may contain ">" (only quotes are escaped).
_TAG = re.compile(r"""(<(?:[^>"']|"[^"]*"|'[^']*')*>)""")

OPEN, CLOSE = "\ue000", "\ue001"  # private-use sentinels marking highlight bounds while rendering


class AnchorError(ValueError):
    """The selection cannot be found in the notes."""


def _ignorable(ch: str) -> bool:
    return ch.isspace() or ch in _IGNORABLE


def skeleton(source: str) -> tuple[str, list[tuple[int, int]]]:
    """The source without markup, with each kept character's (start, end) span in the source.

    Dropped: link targets ``](url)``, line-start list/quote markers, and every ignorable character;
    entities (``&amp;``) become the character they render as.
    """
    dropped = bytearray(len(source))
    for match in _LINK_TARGET.finditer(source):
        for i in range(match.start() + 1, match.end()):
            dropped[i] = 1
    for match in _LINE_MARKER.finditer(source):
        for i in range(match.start(), match.end()):
            dropped[i] = 1
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(source)
    while i < n:
        if dropped[i]:
            i += 1
            continue
        ch = source[i]
        if ch == "&":
            entity = _ENTITY.match(source, i)
            if entity:
                decoded = html.unescape(entity.group(0))
                if len(decoded) == 1:
                    if not _ignorable(decoded):
                        chars.append(decoded)
                        spans.append((i, entity.end()))
                    i = entity.end()
                    continue
        if not _ignorable(ch):
            chars.append(ch)
            spans.append((i, i + 1))
        i += 1
    return "".join(chars), spans


def _skeleton_text(text: str) -> str:
    return "".join(ch for ch in text if not _ignorable(ch))


def html_to_text(fragment: str) -> str:
    """Text content of (sanitised) HTML, as a browser's ``textContent`` gives it."""
    return html.unescape(_TAG.sub("", fragment))


def locate_selection(
    source: str, selected: str, *, rendered_text: str | None = None, rendered_offset: int | None = None
) -> tuple[int, int]:
    """Source offsets (start, end) of text a reader selected in the rendered notes.

    ``rendered_offset`` (code points of rendered text before the selection) picks the right one
    when the words occur more than once; without it the first occurrence is taken.
    """
    wanted = _skeleton_text(selected)
    if not wanted:
        raise AnchorError("Select some words in the notes first.")
    skel, spans = skeleton(source)
    candidates = []
    at = skel.find(wanted)
    while at != -1:
        candidates.append(at)
        at = skel.find(wanted, at + 1)
    if not candidates:
        raise AnchorError(
            "The selected text was not found in the notes (were they edited meanwhile?). Reload and try again."
        )
    best = candidates[0]
    if len(candidates) > 1 and rendered_text is not None and rendered_offset is not None:
        hint = len(_skeleton_text(rendered_text[: max(0, rendered_offset)]))
        best = min(candidates, key=lambda c: (abs(c - hint), c))
    return spans[best][0], spans[best + len(wanted) - 1][1]


def context(source: str, start: int, end: int, width: int = CONTEXT) -> tuple[str, str]:
    return source[max(0, start - width) : start], source[end : end + width]


@dataclass(frozen=True)
class Anchor:
    start: int
    end: int
    detached: bool
    status: str  # kept | moved | reflowed | detached

    @property
    def changed(self) -> bool:
        return self.status != "kept"


def _common_tail(a: str, b: str) -> int:
    n = 0
    for x, y in zip(reversed(a), reversed(b), strict=False):
        if x != y:
            break
        n += 1
    return n


def _common_head(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _best(source: str, spans: Iterable[tuple[int, int]], old_start: int, prefix: str, suffix: str):
    def score(span: tuple[int, int]):
        s, e = span
        before = source[max(0, s - len(prefix)) : s]
        after = source[e : e + len(suffix)]
        return (-(_common_tail(before, prefix) + _common_head(after, suffix)), abs(s - old_start), s)

    return min(spans, key=score, default=None)


def reanchor(source: str, *, text: str, start: int, end: int, prefix: str = "", suffix: str = "") -> Anchor:
    """Where a highlight quoting ``text`` (at ``start``:``end`` before the edit) is in ``source`` now.

    1. the same text at the same offsets: kept;
    2. else the same text elsewhere: among its occurrences, the one whose surroundings best match the
       stored prefix/suffix, then the nearest to the old position: moved;
    3. else the same words with different whitespace (re-wrapped lines), chosen the same way: reflowed;
    4. else detached (offsets left as they were).
    """
    if text and source[start:end] == text:
        return Anchor(start, end, False, "kept")
    if text:
        exact = []
        at = source.find(text)
        while at != -1:
            exact.append((at, at + len(text)))
            at = source.find(text, at + 1)
        found = _best(source, exact, start, prefix, suffix)
        if found:
            return Anchor(found[0], found[1], False, "moved")
        words = text.split()
        if words:
            pattern = re.compile(r"\s+".join(re.escape(w) for w in words))
            loose = [(m.start(), m.end()) for m in pattern.finditer(source)]
            found = _best(source, loose, start, prefix, suffix)
            if found:
                return Anchor(found[0], found[1], False, "reflowed")
    return Anchor(start, end, True, "detached")


def plain_quote(snippet: str) -> str:
    """A markdown snippet as quotable plain text: link targets, list markers and emphasis removed."""
    text = _LINK_TARGET.sub("]", snippet)
    text = _LINE_MARKER.sub("", text)
    text = re.sub(r"(\*{1,3}|_{1,3}|~~|`+)(?=\S)|(?<=\S)(\*{1,3}|_{1,3}|~~|`+)", "", text)
    text = text.replace("[", "").replace("]", "")
    text = html.unescape(text)
    return re.sub(r"\s+", " ", text).strip()


def render_with_marks(source: str, spans: Iterable[tuple[int, int]], render: Callable[[str], str]) -> str:
    """Render ``source`` with ``render`` (markdown -> sanitised HTML) and wrap each span's text in
    ``<mark class="hl">``. Spans may overlap; out-of-range spans are ignored."""
    spans = [(s, e) for s, e in spans if 0 <= s < e <= len(source)]
    clean = source.replace(OPEN, "\ufffd").replace(CLOSE, "\ufffd")  # same length: offsets hold
    if not spans:
        return render(clean)
    inserts: dict[int, str] = {}
    for s, e in spans:
        inserts[s] = inserts.get(s, "") + OPEN
        inserts[e] = CLOSE + inserts.get(e, "")
    parts, last = [], 0
    for pos in sorted(inserts):
        parts.append(clean[last:pos])
        parts.append(inserts[pos])
        last = pos
    parts.append(clean[last:])
    rendered = render("".join(parts))
    out: list[str] = []
    depth = 0
    for token in _TAG.split(rendered):
        if not token:
            continue
        if token.startswith("<"):
            out.append(f'</mark>{token}<mark class="hl">' if depth > 0 else token)
            continue
        for ch in token:
            if ch == OPEN:
                depth += 1
                if depth == 1:
                    out.append('<mark class="hl">')
            elif ch == CLOSE:
                if depth > 0:
                    depth -= 1
                    if depth == 0:
                        out.append("</mark>")
            else:
                out.append(ch)
    if depth > 0:
        out.append("</mark>")
    return re.sub(r'<mark class="hl">(\s*)</mark>', r"\1", "".join(out))
