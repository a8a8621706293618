"""``kefu i18n``: find the message keys the UI uses and keep the catalogs complete.

``babel.cfg`` (Babel's mapping format) names the files to read and the extraction method for
each; the methods are here, so ``pybabel extract -F babel.cfg -k t -k translate`` reads the same
keys. A literal argument of ``t(...)`` is a key (``t("agent.inbox_title")``). A dotted prefix
joined to a value anywhere in a mapped file (``t("status." + s)``, ``f"error.{code}"``) is a
family: it uses every catalog key under that prefix, since the code cannot name them one by
one. ``extract`` writes ``messages.pot`` and brings every language's catalog up to date;
``check`` reports what would show a key or a broken text on a page (exit 2) and the entries
nothing uses. docs/translations.md has the workflow."""

from __future__ import annotations

import ast
import configparser
import contextlib
import io
import os
import re
import string
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn, TypeGuard

import typer
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.jslexer import Token, tokenize, unquote_string
from babel.messages.pofile import write_po
from babel.util import pathmatch
from jinja2 import Environment, nodes
from jinja2.exceptions import TemplateSyntaxError

from kefu import __version__
from kefu.core import clock
from kefu.web import i18n

KEYWORDS = ("t", "translate")
SOURCE_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_NAME = f"{i18n.DOMAIN}.pot"
KEY = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
FAMILY = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*\.")
HEADER = ("Kefu UI messages{language}. Keyed catalog: msgids are keys, the comment above each\n"
          "is the English text. Maintained with `kefu i18n extract`; see docs/translations.md.")

i18n_app = typer.Typer(help="Translations: extract message keys, check the catalogs.",
                       no_args_is_help=True)


# ---------------------------------------------------------------- finding keys in source


@dataclass(frozen=True)
class Use:
    """One use of a key, or of a family of keys (``family``: ``key`` is a prefix ending in
    a dot) at a line of a file. ``keyword`` names the call it is the argument of; a family
    found elsewhere (``key = f"error.{code}"``) has none."""

    key: str
    lineno: int
    keyword: str = ""
    family: bool = False


def _is_key(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and KEY.fullmatch(value) is not None


def _is_family(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and FAMILY.fullmatch(value) is not None


def python_uses(source: str, keywords: Collection[str]) -> Iterator[Use]:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else (
                func.attr if isinstance(func, ast.Attribute) else "")
            if name in keywords:
                yield from _python_keys(node.args[0], name)
        elif isinstance(node, ast.JoinedStr) and node.values:
            head = node.values[0]
            if isinstance(head, ast.Constant) and _is_family(head.value):
                yield Use(head.value, node.lineno, family=True)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) \
                and isinstance(node.left, ast.Constant) and _is_family(node.left.value):
            yield Use(node.left.value, node.lineno, family=True)


def _python_keys(arg: ast.expr, keyword: str) -> Iterator[Use]:
    head = arg.values[0] if isinstance(arg, ast.JoinedStr) and arg.values else (
        arg.left if isinstance(arg, ast.BinOp) else arg)
    if isinstance(arg, ast.Constant) and _is_key(arg.value):
        yield Use(arg.value, arg.lineno, keyword)
    elif head is not arg and isinstance(head, ast.Constant) and _is_family(head.value):
        yield Use(head.value, arg.lineno, keyword, family=True)
    elif isinstance(arg, ast.IfExp):
        yield from _python_keys(arg.body, keyword)
        yield from _python_keys(arg.orelse, keyword)


def jinja_uses(source: str, keywords: Collection[str]) -> Iterator[Use]:
    tree = Environment().parse(source)
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in keywords and call.args:
            yield from _jinja_keys(call.args[0], call.node.name)
    heads = [add.left for add in tree.find_all(nodes.Add)]
    heads += [concat.nodes[0] for concat in tree.find_all(nodes.Concat)]
    for head in heads:
        if isinstance(head, nodes.Const) and _is_family(head.value):
            yield Use(head.value, head.lineno, family=True)


def _jinja_keys(arg: nodes.Expr, keyword: str) -> Iterator[Use]:
    head: nodes.Expr = arg
    if isinstance(arg, nodes.Add):
        head = arg.left
    elif isinstance(arg, nodes.Concat):
        head = arg.nodes[0]
    if isinstance(arg, nodes.Const) and _is_key(arg.value):
        yield Use(arg.value, arg.lineno, keyword)
    elif head is not arg and isinstance(head, nodes.Const) and _is_family(head.value):
        yield Use(head.value, arg.lineno, keyword, family=True)
    elif isinstance(arg, nodes.CondExpr):
        yield from _jinja_keys(arg.expr1, keyword)
        if arg.expr2 is not None:
            yield from _jinja_keys(arg.expr2, keyword)


@contextlib.contextmanager
def _babel_lexer() -> Iterator[None]:
    """Babel 2.19 calls its JavaScript lexer an implementation detail (deprecated, still there;
    pyproject holds Babel below 2.20). Its public extractor finds keyword calls only, not the
    families built with "+" that the check needs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _unquote(literal: str) -> str:
    with _babel_lexer():
        return str(unquote_string(literal))


def javascript_uses(source: str, keywords: Collection[str]) -> Iterator[Use]:
    """Keys are the strings in a keyword call's first argument (``t(a ? "x" : "y")``,
    ``t({live: "x"}[state])``), except object keys and strings joined to a value."""
    with _babel_lexer():
        tokens = [token for token in tokenize(source, jsx=False, dotted=False)
                  if token.type not in ("linecomment", "multilinecomment")]
    for index, token in enumerate(tokens):
        if token.type == "string" and _next_is(tokens, index, "+"):
            value = _unquote(token.value)
            if _is_family(value):
                yield Use(value, token.lineno, family=True)
        elif token.type == "name" and token.value in keywords and _next_is(tokens, index, "(") \
                and not (index and tokens[index - 1].value in (".", "function")):
            yield from _javascript_keys(tokens, index + 2, token.value)


def _next_is(tokens: list[Token], index: int, value: str) -> bool:
    return index + 1 < len(tokens) and tokens[index + 1].type == "operator" \
        and tokens[index + 1].value == value


def _javascript_keys(tokens: list[Token], start: int, keyword: str) -> Iterator[Use]:
    """The keys in the argument starting at ``start``; one built by ``+`` names none (its
    prefix is a family, found apart)."""
    depth = 0
    end = start
    while end < len(tokens):
        token = tokens[end]
        if token.type == "operator":
            depth += (token.value in "([{") - (token.value in ")]}")
            if depth < 0 or (depth == 0 and token.value == ","):
                break
            if depth == 0 and token.value == "+":
                head = tokens[start]
                if head.type == "string" and _is_family(_unquote(head.value)):
                    yield Use(_unquote(head.value), head.lineno, keyword, family=True)
                return
        end += 1
    for index in range(start, end):
        token = tokens[index]
        if token.type == "string":
            before = tokens[index - 1].value
            object_key = before in ("{", ",") and _next_is(tokens, index, ":")
            value = _unquote(token.value)
            if not object_key and _is_key(value):
                yield Use(value, token.lineno, keyword)


UseFinder = Callable[[str, Collection[str]], Iterator[Use]]
BabelMethod = Callable[..., Iterator[tuple[int, str, str, list[str]]]]


def _babel_method(find: UseFinder) -> BabelMethod:
    """``find`` as a Babel extraction method (literal keys only: a family is not a message).
    The option ``prefix`` namespaces a file's keys, e.g. the widget's under ``widget.``."""

    def extract(fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str],
                options: Mapping[str, str]) -> Iterator[tuple[int, str, str, list[str]]]:
        prefix = options.get("prefix", "")
        source = fileobj.read().decode(options.get("encoding", "utf-8"))
        for use in find(source, tuple(keywords)):
            if not use.family:
                yield use.lineno, use.keyword, prefix + use.key, []

    return extract


extract_python = _babel_method(python_uses)
extract_jinja = _babel_method(jinja_uses)
extract_javascript = _babel_method(javascript_uses)
# babel.cfg's method names, and what ``kefu i18n`` runs for each (keys and families).
FINDERS: dict[str, UseFinder] = {
    f"{__name__}:extract_python": python_uses,
    f"{__name__}:extract_jinja": jinja_uses,
    f"{__name__}:extract_javascript": javascript_uses,
}


@dataclass
class Usage:
    """What the source uses: each key and each family, with where (relative path, line)."""

    keys: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    families: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    # Families built right in a keyword's argument: these must have keys. A dotted prefix
    # elsewhere may be anything (a storage key), so it only marks keys as used.
    called_families: set[str] = field(default_factory=set)

    def add(self, use: Use, path: str, prefix: str) -> None:
        found = self.families if use.family else self.keys
        found.setdefault(prefix + use.key, []).append((path, use.lineno))
        if use.family and use.keyword:
            self.called_families.add(prefix + use.key)

    def used(self, known: Collection[str]) -> dict[str, list[tuple[str, int]]]:
        """Every key the source uses: its literal keys, and the ``known`` catalog keys under
        one of its families."""
        used = {key: list(places) for key, places in self.keys.items()}
        for prefix, places in self.families.items():
            for key in known:
                if key.startswith(prefix):
                    used.setdefault(key, []).extend(places)
        return used


class I18nError(Exception):
    """Source or configuration the extraction cannot read; the CLI reports it in one line."""


def find_usage(root: Path, config: Path, keywords: Collection[str] = KEYWORDS) -> Usage:
    """Read every file ``config`` maps (first matching pattern wins, as in Babel)."""
    try:
        with config.open(encoding="utf-8") as cfg:
            method_map, options_map = parse_mapping_cfg(cfg, str(config))
    except (OSError, ValueError, configparser.Error) as exc:
        raise I18nError(f"cannot read {config}: {exc}") from exc
    for _, method in method_map:
        if method not in FINDERS:
            raise I18nError(f"{config}: unknown method {method!r}; use one of "
                            + ", ".join(sorted(FINDERS)))
    usage = Usage()
    for path in _candidate_files(root, [pattern for pattern, _ in method_map]):
        relative = path.relative_to(root).as_posix()
        for pattern, method in method_map:
            if pathmatch(pattern, relative):
                options = options_map.get(pattern, {})
                try:
                    source = path.read_text(encoding=options.get("encoding", "utf-8"))
                    for use in FINDERS[method](source, keywords):
                        usage.add(use, relative, options.get("prefix", ""))
                except (SyntaxError, TemplateSyntaxError, UnicodeDecodeError) as exc:
                    raise I18nError(f"cannot read {relative}: {exc}") from exc
                break
    return usage


def _candidate_files(root: Path, patterns: list[str]) -> list[Path]:
    """Files under the fixed leading folders of the patterns (not the whole tree)."""
    bases = {root / pattern.split("*", 1)[0].rpartition("/")[0] for pattern in patterns}
    files: set[Path] = set()
    for base in bases:
        for folder, dirs, names in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            files.update(Path(folder) / name for name in names)
    return sorted(files)


# ---------------------------------------------------------------- catalogs


def placeholders(text: str) -> set[str]:
    """The ``{name}`` fields ``str.format`` fills in; ValueError for a broken format string."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _english(catalogs: Mapping[str, Catalog], key: str) -> list[str]:
    """The English text as an entry's extracted comment (``#.``)."""
    message = catalogs[i18n.DEFAULT_LANGUAGE].get(key)
    text = message.string if message is not None else ""
    return [text] if isinstance(text, str) and text else []


def _same_comment(message: Message, comment: list[str]) -> bool:
    """Whether an entry's extracted comment is ``comment``; ``write_po`` wraps long comments
    over several ``#.`` lines, so words are compared, not lines."""
    return " ".join(message.auto_comments).split() == " ".join(comment).split()


def _keys(catalogs: Mapping[str, Catalog]) -> set[str]:
    return {message.id for catalog in catalogs.values() for message in catalog
            if isinstance(message.id, str) and message.id}


def _read_catalogs(locales: Path) -> dict[str, Catalog]:
    catalogs: dict[str, Catalog] = {}
    for language in i18n.SUPPORTED:
        path = i18n.catalog_path(language, locales)
        if path.is_file():
            try:
                catalogs[language] = i18n.read_catalog(path)
            except Exception as exc:  # noqa: BLE001 - Babel raises several kinds
                raise I18nError(f"cannot read {path}: {exc}") from exc
    return catalogs


def _new_catalog(locale: str | None) -> Catalog:
    name = f": {i18n.LANGUAGE_NAMES[locale.replace('_', '-')]}" if locale else ""
    return Catalog(locale=locale, domain=i18n.DOMAIN, project="kefu", version=__version__,
                   header_comment="# " + HEADER.format(language=name).replace("\n", "\n# "),
                   copyright_holder="Kefu contributors", last_translator="Kefu contributors",
                   language_team="Kefu contributors", msgid_bugs_address="", fuzzy=False)


def _po_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=0, sort_output=True, include_lineno=False)
    return buffer.getvalue()


def _write_if_changed(path: Path, catalog: Catalog) -> bool:
    """Write ``catalog`` unless the file already says the same; only a real change moves its
    dates, so re-running ``extract`` leaves the tree clean."""
    if path.is_file() and _po_bytes(catalog) == path.read_bytes():
        return False
    catalog.creation_date = catalog.revision_date = clock.now()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_po_bytes(catalog))
    return True


@dataclass
class ExtractReport:
    keys: int
    added: dict[str, list[str]]
    written: list[Path]
    unused: list[str]


def extract(root: Path, config: Path, locales: Path) -> ExtractReport:
    """Write the template (every used key, English as its comment) and add the keys a catalog
    lacks (used, or in English), untranslated, to each language's catalog (created if missing,
    which is how a language starts). Entries nothing uses stay: ``check`` lists them for a
    person to delete."""
    catalogs = _read_catalogs(locales)
    usage = find_usage(root, config)
    known = _keys(catalogs)
    used = usage.used(known)
    template_path = locales / TEMPLATE_NAME
    template = _read_existing(template_path) or _new_catalog(None)
    fresh = _new_catalog(None)
    fresh.creation_date = template.creation_date
    fresh.revision_date = template.revision_date
    written: list[Path] = []
    added: dict[str, list[str]] = {}
    english = catalogs.get(i18n.DEFAULT_LANGUAGE)
    wanted = set(used) | (_keys({i18n.DEFAULT_LANGUAGE: english}) if english else set())
    for language in i18n.SUPPORTED:
        catalog = catalogs.setdefault(language, _new_catalog(language.replace("-", "_")))
        added[language] = sorted(key for key in wanted if key not in catalog)
        for key in added[language]:
            catalog.add(key, "")
    for key, places in sorted(used.items()):
        fresh.add(key, "", locations=sorted({(p, 0) for p, _ in places}),
                  auto_comments=_english(catalogs, key))
    for language in i18n.SUPPORTED:
        catalog = catalogs[language]
        for message in catalog:
            if message.id and isinstance(message.id, str):
                in_template = fresh.get(message.id)
                message.locations = in_template.locations if in_template else []
                message.auto_comments = _english(catalogs, message.id)
        if _write_if_changed(i18n.catalog_path(language, locales), catalog):
            written.append(i18n.catalog_path(language, locales))
    if _write_if_changed(template_path, fresh):
        written.append(template_path)
    unused = sorted(known - set(used))
    return ExtractReport(len(used), added, written, unused)


def _read_existing(path: Path) -> Catalog | None:
    return i18n.read_catalog(path) if path.is_file() else None


@dataclass
class CheckReport:
    problems: list[str]
    unused: list[str]


def check(root: Path, config: Path, locales: Path) -> CheckReport:
    """Everything that would show a key or a broken text on a page, or leave translators
    without the English: a used key missing from a catalog, a family with no keys, keys one
    language has and another lacks, empty or fuzzy entries, ``{placeholders}`` that differ
    from English or do not parse, and a template or English comments behind the source."""
    catalogs = _read_catalogs(locales)
    problems = [f"{i18n.catalog_path(language, locales)}: no such catalog"
                for language in i18n.SUPPORTED if language not in catalogs]
    if problems:
        return CheckReport(problems, [])
    usage = find_usage(root, config)
    known = _keys(catalogs)
    used = usage.used(known)
    for key in sorted(used):
        where = _where(used[key])
        for language, catalog in catalogs.items():
            if key not in catalog:
                problems.append(f"{language}: missing {key} (used at {where})")
    for prefix in sorted(usage.called_families):
        places = usage.families[prefix]
        if not any(key.startswith(prefix) for key in known):
            where = _where(places)
            problems.append(f"no key starts with {prefix} (used at {where})")
    for key in sorted(known):
        problems += _entry_problems(catalogs, key, key in used)
    for language, catalog in catalogs.items():
        behind = [key for key in sorted(used) if key in catalog
                  and not _same_comment(catalog[key], _english(catalogs, key))]
        if behind:
            problems.append(f"{language}: {len(behind)} English comments out of date "
                            f"({', '.join(behind[:3])}): run `kefu i18n extract`")
    template = _read_existing(locales / TEMPLATE_NAME)
    template_keys = {m.id for m in template if m.id} if template else set()
    stale = template is None or template_keys != set(used) or any(
        not _same_comment(template[key], _english(catalogs, key)) for key in used)
    if stale:
        problems.append(f"{locales / TEMPLATE_NAME} is out of date: run `kefu i18n extract`")
    return CheckReport(problems, sorted(known - set(used)))


def _where(places: list[tuple[str, int]]) -> str:
    return ", ".join(f"{path}:{line}" for path, line in sorted(set(places))[:3])


def _entry_problems(catalogs: Mapping[str, Catalog], key: str, used: bool) -> list[str]:
    problems: list[str] = []
    english = catalogs[i18n.DEFAULT_LANGUAGE].get(key)
    for language, catalog in catalogs.items():
        message = catalog.get(key)
        if message is None:
            if not used:  # a used key is reported as missing already
                problems.append(f"{language}: missing {key} (in another language's catalog)")
            continue
        text = message.string
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{language}: {key} has no translation")
            continue
        if message.fuzzy:
            problems.append(f"{language}: {key} is marked fuzzy (check it, then drop the flag)")
        try:
            fields = placeholders(text)
        except ValueError as exc:
            problems.append(f"{language}: {key} is not a valid format string: {exc}")
            continue
        if english is not None and isinstance(english.string, str) and english.string:
            try:
                expected = placeholders(english.string)
            except ValueError:
                expected = fields  # reported under English
            if fields != expected:
                problems.append(f"{language}: {key} has placeholders {sorted(fields)}, "
                                f"English has {sorted(expected)}")
    return problems


# ---------------------------------------------------------------- the commands


def _fail(message: str) -> NoReturn:
    typer.echo(f"kefu: {message}", err=True)
    raise typer.Exit(2)


RootOption = Annotated[Path, typer.Option(help="Source tree (where babel.cfg's paths start)")]
ConfigOption = Annotated[Path | None, typer.Option(help="Mapping file; default ROOT/babel.cfg")]
LocalesOption = Annotated[Path, typer.Option(help="Catalog folder")]


def _config(root: Path, config: Path | None) -> Path:
    config = config or root / "babel.cfg"
    if not config.is_file():
        _fail(f"no {config}: run from a source checkout or pass --config")
    return config


@i18n_app.command("extract")
def extract_command(
    root: RootOption = SOURCE_ROOT,
    config: ConfigOption = None,
    locales: LocalesOption = i18n.LOCALES_DIR,
) -> None:
    """Write messages.pot from the source and add new keys to every catalog."""
    try:
        report = extract(root, _config(root, config), locales)
    except I18nError as exc:
        _fail(str(exc))
    for path in report.written:
        typer.echo(f"wrote {path}")
    for language, keys in report.added.items():
        if keys:
            typer.echo(f"{language}: added {len(keys)} keys to translate: {', '.join(keys)}")
    typer.echo(f"{report.keys} keys in use; {len(report.unused)} catalog entries unused")


@i18n_app.command("check")
def check_command(
    root: RootOption = SOURCE_ROOT,
    config: ConfigOption = None,
    locales: LocalesOption = i18n.LOCALES_DIR,
) -> None:
    """Report keys missing from a catalog, broken entries and unused ones; exit 2 on problems."""
    try:
        report = check(root, _config(root, config), locales)
    except I18nError as exc:
        _fail(str(exc))
    for key in report.unused:
        typer.echo(f"unused: {key}")
    for problem in report.problems:
        typer.echo(problem)
    if report.problems:
        _fail(f"{len(report.problems)} translation problems")
    typer.echo(f"catalogs complete ({', '.join(i18n.SUPPORTED)}); "
               f"{len(report.unused)} entries unused")
