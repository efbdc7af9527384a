"""Route pieces and the regex algebra every Python source shares.

A route is a list of pieces: `{"kind": "static", "text": …}` and `{"kind": "param",
"name": …, "converter": {…, "regex": …, "dialect": "python"}}` (routewall's `Segment`s as
JSON). Sources build them from the framework's own patterns; the helpers here derive the
pieces of the paths a framework answers with a slash redirect (Django's APPEND_SLASH,
Starlette's redirect_slashes): the right quotient of a route by `/` ({x : x/ matches}) and
the part of a route that does not end in `/`. Both are computed on Python's own parse of
a regex and printed back as a Python regex (the standard library has no printer, hence
`_unparse`); whether an atom matches `/` or nothing is asked of `re`.
"""

def regex_parser():
    """Python's own regex parser and its constants (moved in 3.11): Django's regexes are
    read as `re` reads them."""
    try:
        from re import _constants as c
        from re import _parser as sre_parse
    except ImportError:  # Python < 3.11
        import sre_constants as c
        import sre_parse
    return sre_parse, c


def can_match_slash(regex):
    """Whether some match of `regex` may contain `/` (conservative: True when unsure)."""
    return can_match_char(regex, 0x2F)


def can_match_char(regex, code):
    """Whether some match of `regex` may contain `chr(code)` (conservative: True when
    unsure)."""
    sre_parse, c = regex_parser()

    def items(pattern, flags):
        for op, av in pattern:
            if op == c.LITERAL:
                if av == code:
                    return True
            elif op == c.NOT_LITERAL:
                if av != code:
                    return True
            elif op == c.ANY:
                if code != 0x0A or flags & c.SRE_FLAG_DOTALL:
                    return True
            elif op == c.IN:
                if in_class(av):
                    return True
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
                if items(av[2], flags):
                    return True
            elif op == c.SUBPATTERN:
                if items(av[-1], (flags | av[1]) & ~av[2]):
                    return True
            elif op == c.BRANCH:
                if any(items(branch, flags) for branch in av[1]):
                    return True
            elif op == getattr(c, "ATOMIC_GROUP", None):
                if items(av, flags):
                    return True
            elif op in (c.AT, c.ASSERT, c.ASSERT_NOT, c.GROUPREF):
                # Zero-width, or a copy of an earlier group (already looked at).
                continue
            else:
                return True
        return False

    def in_class(members):
        negate = False
        hit = False
        for op, av in members:
            if op == c.NEGATE:
                negate = True
            elif op == c.LITERAL:
                hit = hit or av == code
            elif op == c.RANGE:
                hit = hit or av[0] <= code <= av[1]
            elif op == c.CATEGORY:
                # Asked of `re` (`/` is only in the negations, a newline is a space).
                hit = hit or re.fullmatch(_CATEGORIES[str(av)], chr(code)) is not None
            else:
                return True
        return hit != negate

    try:
        parsed = sre_parse.parse(regex)
        flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
        return items(parsed, flags)
    except Exception:
        return True


def text(value):
    return {"kind": "static", "text": value}


class Unsupported(Exception):
    """The regex holds something the quotient does not handle: no twin is derived."""


def slash_twin_regex(regex, empty_allowed):
    """The Python regex of {x : x + "/" fullmatches `regex`, x does not end in `/`, and x
    is not empty unless `empty_allowed`}, or None when that set is empty or cannot be
    computed."""
    return _redirected_regex(regex, empty_allowed, quotient=True)


def not_ending_in_slash_regex(regex, empty_allowed):
    """The Python regex of what `regex` fullmatches that does not end in `/` (and is not
    empty unless `empty_allowed`), or None when that set is empty or cannot be computed."""
    return _redirected_regex(regex, empty_allowed, quotient=False)


def _redirected_regex(regex, empty_allowed, quotient):
    sre_parse, c = regex_parser()
    try:
        parsed = sre_parse.parse(regex)
        flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
        heads = _quotient(list(parsed), flags) if quotient else [list(parsed)]
        alternatives = []
        for head in heads:
            alternatives += _not_ending_in_slash(head, flags, empty_allowed)
        if not alternatives:
            return None
        body = "|".join(dict.fromkeys(_unparse(alt, c) for alt in alternatives))
        return _flag_prefix(flags, c) + body
    except (Unsupported, re.error, RecursionError):
        return None


_FLAG_LETTERS = (("IGNORECASE", "i"), ("MULTILINE", "m"), ("DOTALL", "s"), ("VERBOSE", "x"), ("ASCII", "a"))


def _flag_prefix(flags, c):
    letters = "".join(letter for name, letter in _FLAG_LETTERS if flags & getattr(c, f"SRE_FLAG_{name}"))
    return f"(?{letters})" if letters else ""


def _atom_matches(item, flags, text):
    """Whether the one-item sequence `item` fullmatches `text`, asked of `re`."""
    sre_parse, c = regex_parser()
    return re.fullmatch(_flag_prefix(flags, c) + _unparse([item], c), text) is not None


def _nullable(item, flags):
    return _atom_matches(item, flags, "")


def _quotient(sequence, flags):
    """Sequences whose union is {x : x + "/" matches `sequence`}."""
    sre_parse, c = regex_parser()
    if not sequence:
        return []
    *head, last = sequence
    op, av = last
    if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
        return [head] if _atom_matches(last, flags, "/") else []
    if op == c.SUBPATTERN:
        group, add, remove, inner = av
        scoped = (flags | add) & ~remove
        out = [head + [(c.SUBPATTERN, (None, add, remove, alt))] for alt in _quotient(list(inner), scoped)]
        return out + (_quotient(head, flags) if _nullable(last, flags) else [])
    if op == c.BRANCH:
        out = [head + [_group([alt])] for branch in av[1] for alt in _quotient(list(branch), flags)]
        return out + (_quotient(head, flags) if _nullable(last, flags) else [])
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, inner = av
        out = []
        if high != 0:
            rest = _repeat(op, max(low - 1, 0), high, inner, c)
            out += [head + rest + [_group([alt])] for alt in _quotient(list(inner), flags)]
        if low == 0 or _nullable((c.SUBPATTERN, (None, 0, 0, inner)), flags):
            out += _quotient(head, flags)
        return out
    raise Unsupported(op)


def _not_ending_in_slash(sequence, flags, empty_allowed):
    """Sequences whose union is what `sequence` matches that does not end in `/` (and is
    not empty unless `empty_allowed`)."""
    if not sequence:
        return [[]] if empty_allowed else []
    *head, last = sequence
    out = [head + [alt] for alt in _nonempty_not_slash(last, flags)]
    if _nullable(last, flags):
        out += _not_ending_in_slash(head, flags, empty_allowed)
    return out


def _nonempty_not_slash(item, flags):
    """Items whose union is what `item` matches that is not empty and ends in no `/`."""
    sre_parse, c = regex_parser()
    op, av = item
    if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
        if not _atom_matches(item, flags, "/"):
            return [item]
        return _class_without_slash(item, flags, c)
    if op == c.SUBPATTERN:
        group, add, remove, inner = av
        scoped = (flags | add) & ~remove
        return [(c.SUBPATTERN, (None, add, remove, alt)) for alt in _not_ending_in_slash(list(inner), scoped, False)]
    if op == c.BRANCH:
        return [_group([alt]) for branch in av[1] for alt in _not_ending_in_slash(list(branch), flags, False)]
    if op in (c.MAX_REPEAT, c.MIN_REPEAT):
        low, high, inner = av
        if high == 0:
            return []
        # The last non-empty repetition ends the match; empty ones may pad the count.
        before = max(low - 1, 0) if not _nullable((c.SUBPATTERN, (None, 0, 0, inner)), flags) else 0
        rest = _repeat(op, before, high, inner, c)
        return [_group([rest + alt]) for alt in _not_ending_in_slash(list(inner), flags, False)]
    raise Unsupported(op)


def _class_without_slash(item, flags, c):
    """One-character `item` (which matches `/`) less `/`, as items."""
    return _class_without(item, flags, c, 0x2F)


def _class_without(item, flags, c, code):
    """One-character `item` (which matches `chr(code)`) less that character, as items."""
    op, av = item
    if op == c.LITERAL:
        return []
    if op == c.NOT_LITERAL:
        return [(c.IN, [(c.NEGATE, None), (c.LITERAL, av), (c.LITERAL, code)])]
    if op == c.ANY:
        if flags & c.SRE_FLAG_DOTALL:
            return [(c.NOT_LITERAL, code)]
        return [(c.IN, [(c.NEGATE, None), (c.LITERAL, 0x0A), (c.LITERAL, code)])]
    members = list(av)
    if members and members[0][0] == c.NEGATE:
        return [(c.IN, members + [(c.LITERAL, code)])]
    kept, alone = [], []
    for member_op, member in members:
        if member_op == c.LITERAL and member == code:
            continue
        if member_op == c.RANGE and member[0] <= code <= member[1]:
            low, high = member
            kept += [(c.RANGE, (low, code - 1))] if low < code else []
            kept += [(c.RANGE, (code + 1, high))] if high > code else []
        elif member_op == c.CATEGORY and str(member).startswith("CATEGORY_NOT_"):
            # `\W` less `/` is `[^\w/]`, which a class cannot say next to other members.
            positive = getattr(c, str(member).replace("CATEGORY_NOT_", "CATEGORY_"))
            alone.append((c.IN, [(c.NEGATE, None), (c.CATEGORY, positive), (c.LITERAL, code)]))
        else:
            kept.append((member_op, member))
    out = ([(c.IN, kept)] if kept else []) + alone
    for atom in out:
        if _atom_matches(atom, flags, chr(code)):
            raise Unsupported(f"a class that still matches {chr(code)!r}")
    return out


def without_character_regex(regex, code):
    """The Python regex of what `regex` fullmatches that holds no `chr(code)` (each atom
    that matches it, less it), or None when that cannot be computed."""
    sre_parse, c = regex_parser()
    try:
        parsed = sre_parse.parse(regex)
        flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
        return _flag_prefix(flags, c) + _unparse(_without(list(parsed), flags, c, code), c)
    except (Unsupported, re.error, RecursionError):
        return None


def _without(sequence, flags, c, code):
    out = []
    for op, av in sequence:
        if op in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
            item = (op, av)
            if _atom_matches(item, flags, chr(code)):
                alternatives = _class_without(item, flags, c, code)
                if not alternatives:
                    raise Unsupported("the character itself")
                item = alternatives[0] if len(alternatives) == 1 else _group([[alt] for alt in alternatives])
            out.append(item)
        elif op == c.SUBPATTERN:
            group, add, remove, inner = av
            scoped = (flags | add) & ~remove
            out.append((c.SUBPATTERN, (None, add, remove, _without(list(inner), scoped, c, code))))
        elif op == c.BRANCH:
            out.append((c.BRANCH, (None, [_without(list(branch), flags, c, code) for branch in av[1]])))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, inner = av
            out.append((op, (low, high, _without(list(inner), flags, c, code))))
        else:
            raise Unsupported(op)
    return out


def _group(sequences):
    sre_parse, c = regex_parser()
    return (c.BRANCH, (None, sequences)) if len(sequences) > 1 else (c.SUBPATTERN, (None, 0, 0, sequences[0]))


def _repeat(op, low, high, inner, c):
    if high != c.MAXREPEAT:
        high -= 1
    if high == 0:
        return []
    return [(op, (low, high, inner))]


_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d", "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s", "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w", "CATEGORY_NOT_WORD": r"\W",
}


def _char(code, in_class):
    ch = chr(code)
    special = "\\]^-[" if in_class else ".^$*+?{}[]|()\\#"
    if ch in special or (in_class and ch in "&~"):
        return "\\" + ch
    if ch.isprintable() and not ch.isspace():
        return ch
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


def _unparse(sequence, c):
    """Python regex text for a parsed sequence (the inverse of `sre_parse.parse`, for the
    node kinds the quotient produces)."""
    out = []
    for op, av in sequence:
        if op == c.LITERAL:
            out.append(_char(av, False))
        elif op == c.NOT_LITERAL:
            out.append("[^" + _char(av, True) + "]")
        elif op == c.ANY:
            out.append(".")
        elif op == c.IN:
            parts = []
            for member_op, member in av:
                if member_op == c.NEGATE:
                    parts.append("^")
                elif member_op == c.LITERAL:
                    parts.append(_char(member, True))
                elif member_op == c.RANGE:
                    parts.append(_char(member[0], True) + "-" + _char(member[1], True))
                elif member_op == c.CATEGORY:
                    parts.append(_CATEGORIES[str(member)])
                else:
                    raise Unsupported(member_op)
            out.append("[" + "".join(parts) + "]")
        elif op == c.SUBPATTERN:
            group, add, remove, inner = av
            if add or remove:
                on = "".join(letter for name, letter in _FLAG_LETTERS if add & getattr(c, f"SRE_FLAG_{name}"))
                off = "".join(letter for name, letter in _FLAG_LETTERS if remove & getattr(c, f"SRE_FLAG_{name}"))
                if (add | remove) & ~sum(getattr(c, f"SRE_FLAG_{name}") for name, _ in _FLAG_LETTERS):
                    raise Unsupported("scoped flags")
                out.append(f"(?{on}{'-' + off if off else ''}:" + _unparse(inner, c) + ")")
            else:
                out.append(("(" if group else "(?:") + _unparse(inner, c) + ")")
        elif op == c.BRANCH:
            out.append("(?:" + "|".join(_unparse(branch, c) for branch in av[1]) + ")")
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT):
            low, high, inner = av
            inner_text = _unparse(inner, c)
            if not (len(inner) == 1 and inner[0][0] in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN, c.SUBPATTERN, c.BRANCH)):
                inner_text = "(?:" + inner_text + ")"
            if high == c.MAXREPEAT:
                quantifier = {0: "*", 1: "+"}.get(low, f"{{{low},}}")
            elif low == 0 and high == 1:
                quantifier = "?"
            else:
                quantifier = f"{{{low}}}" if low == high else f"{{{low},{high}}}"
            out.append(inner_text + quantifier + ("?" if op == c.MIN_REPEAT else ""))
        else:
            raise Unsupported(op)
    return "".join(out)


def slash_twins(pieces, open_rest):
    """The pieces of the paths APPEND_SLASH redirects to a route of `pieces` ({x : x/
    is a path of `pieces`, x does not end in `/`}) that the allowlist does not derive
    itself (it does for a final literal `/` when nothing may follow and that twin is
    exact): a final literal `/` taken off, a final parameter's regex quotient by `/`, and,
    when the final parameter may be empty, the twins of what comes before it."""
    last = pieces[-1] if pieces else None
    if last is None:
        return []
    if last["kind"] == "static":
        if last["text"].endswith("/") and (open_rest or not allowlist_twin_is_exact(pieces)):
            return not_ending_in_slash(merged(pieces[:-1] + [text(last["text"][:-1])]))
        return []
    regex = last["converter"]["regex"]
    twins = []
    quotient = slash_twin_regex(regex, False)
    if quotient is not None:
        twins.append(pieces[:-1] + [with_regex(last, quotient)])
    if re.fullmatch(regex, "/"):
        twins += not_ending_in_slash(pieces[:-1])  # the parameter is the `/` alone
    if re.fullmatch(regex, ""):
        twins += slash_twins(pieces[:-1], True)
    return twins


def not_ending_in_slash(pieces):
    """`pieces` as lists of pieces whose paths are those of `pieces` that do not end in
    `/` (what APPEND_SLASH may redirect)."""
    last = pieces[-1] if pieces else None
    if last is None:
        return []
    if last["kind"] == "static":
        return [] if last["text"].endswith("/") else [pieces]
    regex = last["converter"]["regex"]
    if not can_match_slash(regex) and not re.fullmatch(regex, ""):
        return [pieces]  # it never ends in `/`: as it is, so that it compares equal
    out = []
    restricted = not_ending_in_slash_regex(regex, False)
    if restricted is not None:
        out.append(pieces[:-1] + [with_regex(last, restricted)])
    if re.fullmatch(regex, ""):
        out += not_ending_in_slash(pieces[:-1])
    return out


def with_regex(param, regex):
    """`param` matching `regex` instead of its own."""
    converter = dict(param["converter"], regex=regex, part_isolating=not can_match_slash(regex))
    return dict(param, converter=converter)


def allowlist_twin_is_exact(pieces):
    """Whether the path less a final literal `/` (the twin the allowlist derives for a
    route that is not `exact`) is what APPEND_SLASH redirects: the route ends in `/`, and
    what comes before that `/` can neither be empty nor end in `/` (`^a/x?/$` matches
    `/a//`, whose slash-less `/a/` Django never redirects)."""
    last = pieces[-1] if pieces else None
    if last is None or last["kind"] != "static" or not last["text"].endswith("/"):
        return True
    if len(last["text"]) > 1:
        return last["text"][-2] != "/"
    before = pieces[-2] if len(pieces) > 1 else None
    if before is None or before["kind"] != "param":
        return True
    regex = before["converter"]["regex"]
    return re.fullmatch(regex, "") is None and slash_twin_regex(regex, True) is None and not _unknown(regex)


def _unknown(regex):
    """Whether the quotient cannot read `regex` (then nothing about it is assumed)."""
    sre_parse, c = regex_parser()
    try:
        parsed = sre_parse.parse(regex)
        flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
        _quotient(list(parsed), flags)
        return False
    except (Unsupported, re.error, RecursionError):
        return True


def merged(segments):
    """Adjacent text pieces as one."""
    out = []
    for piece in segments:
        if piece["kind"] == "static" and not piece["text"]:
            continue
        if out and piece["kind"] == "static" and out[-1]["kind"] == "static":
            out[-1] = text(out[-1]["text"] + piece["text"])
        else:
            out.append(piece)
    return out


def _one_class_repeated(regex):
    """`(flags, atom, low)` when `regex` is one character class repeated `low` (0 or 1)
    or more times (`[^/]+`, `.*`, `(?s:.*)`), else None."""
    sre_parse, c = regex_parser()
    parsed = sre_parse.parse(regex)
    flags = parsed.state.flags if hasattr(parsed, "state") else parsed.pattern.flags
    items = list(parsed)
    if len(items) == 1 and items[0][0] == c.SUBPATTERN and not items[0][1][0]:
        _, add, remove, inner = items[0][1]
        flags = (flags | add) & ~remove
        items = list(inner)
    if len(items) != 1 or items[0][0] != c.MAX_REPEAT:
        return None
    low, high, inner = items[0][1]
    inner = list(inner)
    if low > 1 or high != c.MAXREPEAT or len(inner) != 1 or inner[0][0] not in (c.LITERAL, c.NOT_LITERAL, c.ANY, c.IN):
        return None
    return flags, inner[0], low


def without_words_regex(regex, words):
    """The Python regex of what `regex` fullmatches but the strings of `words`, for a
    regex that is one character class repeated (`[^/]+`, `[a-z]*`: what a host or path
    parameter usually is), or None for any other regex. Built on the words' trie: at each
    prefix of a word, the prefix itself unless it is a word, each next letter of a word,
    or any other letter of the class and then anything."""
    sre_parse, c = regex_parser()
    try:
        repeated = _one_class_repeated(regex)
        if repeated is None:
            return None
        flags, atom, low = repeated
        words = [w for w in words if re.fullmatch(regex, w)]
        trie = {}
        for word in words:
            node = trie
            for ch in word:
                node = node.setdefault(ch, {})
            node[None] = True
        any_text = _unparse([atom], c) + "*"

        def branch(node, depth):
            alternatives = []
            for ch, child in node.items():
                if ch is not None:
                    alternatives.append(re.escape(ch) + branch(child, depth + 1))
            others = [atom]
            for ch in node:
                if ch is None:
                    continue
                others = [part for item in others for part in (
                    _class_without(item, flags, c, ord(ch)) if _atom_matches(item, flags, ch) else [item])]
            alternatives += [_unparse([other], c) + any_text for other in others]
            body = "|".join(alternatives)
            if node.get(None) or depth < low:
                return f"(?:{body})" if body else "(?!)"
            return f"(?:{body})?"

        return _flag_prefix(flags, c) + branch(trie, 0)
    except (Unsupported, re.error, RecursionError):
        return None


def prefix_free_parts(regex, prefixes, words=()):
    """What `regex` fullmatches that starts with none of `prefixes` and is none of
    `words`, as parts `(text, tail)`: the literal `text`, then what the Python regex
    `tail` matches (`""`: nothing more), one part per proper start of a prefix or word
    (their trie): there, the end (unless a word ends there), or a letter of the class that
    no prefix or word goes on with and then anything. For a regex that is one character
    class repeated (`.*`, `(?s:.*)`, `[^/]+`); None for any other. Literal starts keep the
    parts cheap for nginx (each is a short regex after a literal, where one regex of the
    whole trie needs a byte-level class at every branch)."""
    sre_parse, c = regex_parser()
    try:
        repeated = _one_class_repeated(regex)
        if repeated is None:
            return None
        flags, atom, low = repeated
        trie = {}
        for prefix in prefixes:
            node = trie
            for ch in prefix:
                node = node.setdefault(ch, {})
            node[None] = True
        for word in words:
            node = trie
            for ch in word:
                node = node.setdefault(ch, {})
            node["$word"] = True
        any_text = _unparse([atom], c) + "*"
        parts = []

        def walk(node, text, depth):
            if node.get(None):
                return  # a whole prefix: nothing that starts with it
            letters = [ch for ch in node if ch is not None and ch != "$word"]
            others = [atom]
            for ch in letters:
                others = [part for item in others for part in (
                    _class_without(item, flags, c, ord(ch)) if _atom_matches(item, flags, ch) else [item])]
            body = "|".join(_unparse([other], c) + any_text for other in others)
            can_end = depth >= low and not node.get("$word")
            if body:
                tail = f"(?:{body})" + ("?" if can_end else "")
                parts.append((text, _flag_prefix(flags, c) + tail))
            elif can_end:
                parts.append((text, ""))
            for ch in letters:
                if _atom_matches(atom, flags, ch):
                    walk(node[ch], text + ch, depth + 1)

        walk(trie, "", 0)
        return parts
    except (Unsupported, re.error, RecursionError):
        return None
