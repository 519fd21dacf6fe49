"""What every command shares: its errors, its parser, opening the group's data for it, and its tables."""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from fedgroup import config as config_module
from fedgroup.actions import USER_ERRORS, group_language
from fedgroup.rules import languages
from fedgroup.runtime import Runtime, close_runtime, open_runtime, start_network


class CliError(Exception):
    """A one-line reason for the user; exit status 1 (2 for bad usage)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        see = process_lang().gettext("%(error)s (see `%(prog)s --help`)", error=message, prog=self.prog)
        raise CliError(see, 2)


# argparse's own words that `--help` and a usage error show (Python 3.11's argparse asks gettext for them),
# marked so that extraction keeps them in the catalogues; `speak_process_language` makes argparse read them
# there in the process locale's language.
ARGPARSE_WORDS = (
    languages.N_("usage: "),
    languages.N_("positional arguments"),
    languages.N_("options"),
    languages.N_("show this help message and exit"),
    languages.N_("the following arguments are required: %s"),
    languages.N_("unrecognized arguments: %s"),
    languages.N_("invalid choice: %(value)r (choose from %(choices)s)"),
    languages.N_("expected one argument"),
    languages.N_("argument %(argument_name)s: %(message)s"),
    languages.N_("invalid %(type)s value: %(value)r"),
)


def speak_process_language() -> None:
    """argparse's words (usage, options, its errors) in the process locale's language: argparse looks each up
    through its module's `_` and `ngettext` when it needs it, so they are pointed at our catalogue of that
    language (process_lang); a word we do not have reads as argparse's English."""
    translations = process_lang().translations
    setattr(argparse, "_", translations.gettext)  # noqa: B010 (argparse declares no such attribute for mypy)
    setattr(argparse, "ngettext", translations.ngettext)  # noqa: B010


def path_argument(value: str) -> Path:
    return Path(value).expanduser()


def with_runtime(data_dir: Path, command: Callable[[Runtime], Awaitable[Any]], network: bool = False) -> Any:
    """Open the data dir's database (beside a running server, if any), run, close. Deliveries a command
    queues are sent by the running server, which shares the database."""

    async def main() -> Any:
        runtime = await open_runtime(config_module.load(data_dir))
        try:
            if network:
                await start_network(runtime, workers=False)
            return await command(runtime)
        except CliError as e:
            # A command's own refusal, said the same way (its message marked N_ or made a Message).
            raise CliError(group_lang(runtime).translate(languages.message_of(e)), e.status) from None
        except USER_ERRORS as e:
            # A person's mistake, in the group's language where the catalogue has its words (an error raised
            # with values in it reads as made): README.md, "Languages".
            raise CliError(group_lang(runtime).translate(languages.message_of(e)), 2) from None
        finally:
            await close_runtime(runtime)

    return asyncio.run(main())


def process_lang() -> languages.Language:
    """The language the command line speaks before a group's data is open (so before the group's language is
    known): the process's locale, as gettext programs read it (LANGUAGE, LC_ALL, LC_MESSAGES, LANG), mapped
    to a shipped language, else English. `fedgroup --help`, `init`, `serve` making a data directory, `backup`,
    `restore` and `move`'s first checks use it; a command on a group's data speaks the group's (group_lang)."""
    return languages.language(languages.of_locale_environment(os.environ))


def group_lang(runtime: Runtime) -> languages.Language:
    """The language the command line speaks to people: the group's. Its errors, confirmations and empty
    lists are translated; field names, tables, ids, URLs and files stay as they are, for scripts."""
    return languages.language(group_language(runtime))


def managed(
    command: Callable[[Runtime, argparse.Namespace], Awaitable[str | None]], network: bool = False
) -> Callable[[argparse.Namespace], None]:
    """A command that works on a group's data: its output (if any) printed on stdout."""

    def run(args: argparse.Namespace) -> None:
        output = with_runtime(args.data_dir, lambda runtime: command(runtime, args), network)
        if output:
            print(output)

    return run


def table(rows: Sequence[Sequence[Any]]) -> str:
    """Tab-separated lines: readable in a terminal and easy to `cut`."""
    return "\n".join("\t".join("" if v is None else str(v) for v in row) for row in rows)
