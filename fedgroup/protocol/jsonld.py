"""JSON-LD, cheaply: bundled contexts, an offline document loader, and normalising incoming documents.

pyld costs milliseconds per document (30-140x an RSA signature check), and almost every server sends the
usual compact terms, which we read directly. Only documents that need it — expanded form, full-IRI or prefixed
keys — are compacted with pyld against the bundled ActivityStreams and security contexts. Nothing is ever
fetched for a @context: unknown context URLs are dropped, so a document cannot make us leak our address,
reach a private network or stall on a slow host.
"""

from __future__ import annotations

import importlib
import json
from functools import cache
from importlib import resources
from types import ModuleType
from typing import Any

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
_PUBLIC_SPELLINGS = frozenset({AS_PUBLIC, "as:Public", "Public"})
_AS_NS = "https://www.w3.org/ns/activitystreams#"

FEDGROUP_NS = "https://w3id.org/fedgroup/ns#"

# Context URLs real servers put in @context, mapped to the bundled documents that define their terms.
# Extension contexts (Akkoma's litepub, Lemmy's, GoToSocial's) are AS2 + security plus extra terms we do not
# need to understand, so they resolve to the same bundled pair.
_BUNDLED_FILES = {
    "https://www.w3.org/ns/activitystreams": "activitystreams.jsonld",
    "https://w3id.org/security/v1": "security-v1.jsonld",
}
_ALIASES = {
    "http://www.w3.org/ns/activitystreams": "https://www.w3.org/ns/activitystreams",
    "https://www.w3.org/ns/activitystreams.jsonld": "https://www.w3.org/ns/activitystreams",
    "http://w3id.org/security/v1": "https://w3id.org/security/v1",
    "https://w3id.org/security/v1.jsonld": "https://w3id.org/security/v1",
}
_EXTENSIONS_AS_AS2 = (
    "/schemas/litepub-0.1.jsonld",
    "https://join-lemmy.org/context.json",
    "https://gotosocial.org/ns",
    "https://w3id.org/security/data-integrity/v1",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/security/multikey/v1",
    "https://purl.archive.org/socialweb/webfinger",
)


@cache
def _pyld() -> ModuleType:
    """pyld, imported the first time a document needs it: with lxml it is 5 MB of every process's memory, and
    the documents real servers send never need it (see the module's docstring)."""
    return importlib.import_module("pyld.jsonld")


# How many documents were handed to pyld since start: what a test counts to prove that a document was read
# without it (the one costly step), instead of timing it.
compactions = 0


class DocumentError(ValueError):
    """Something that cannot be an ActivityStreams document; `reason` is a grep-able slug."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@cache
def _bundled(url: str) -> dict[str, Any]:
    text = (resources.files("fedgroup.protocol") / "contexts" / _BUNDLED_FILES[url]).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def canonical_context_url(url: str) -> str | None:
    """The bundled context a context URL stands for, or None when we do not have it."""
    url = url.split("#", 1)[0]
    url = _ALIASES.get(url, url)
    if url in _BUNDLED_FILES:
        return url
    return None


def is_known_extension(url: str) -> bool:
    return any(url.endswith(suffix) or url == suffix for suffix in _EXTENSIONS_AS_AS2)


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader that only ever returns bundled contexts; anything else is an error."""
    canonical = canonical_context_url(url)
    if canonical is None:
        raise _pyld().JsonLdError(
            "fedgroup never fetches JSON-LD contexts",
            "jsonld.LoadDocumentError",
            {"url": url},
            code="loading document failed",
        )
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": _bundled(canonical),
    }


_OPTIONS = {"documentLoader": document_loader}
_NEEDS_PROCESSING_PREFIXES = (
    "as:",
    "https://www.w3.org/ns/activitystreams#",
    "http://www.w3.org/ns/activitystreams#",
    "sec:",
    "https://w3id.org/security#",
)
_COMPACT_CONTEXT = {"@context": [AS_CONTEXT, SECURITY_CONTEXT]}


def needs_jsonld(doc: Any) -> bool:
    """Whether a document must go through a JSON-LD processor to be read with the usual compact terms."""
    if isinstance(doc, list):
        return True
    if not isinstance(doc, dict):
        return False
    # Other prefixed keys (vcard:bday, _misskey_*, toot:...) are extensions we never read: no reason to pay.
    return any(key in ("@id", "@type", "@graph") or key.startswith(_NEEDS_PROCESSING_PREFIXES) for key in doc)


def _offline_context(context: Any) -> Any:
    """The @context with unknown remote URLs dropped and known extensions replaced by AS2 + security."""
    entries = context if isinstance(context, list) else [context]
    kept: list[Any] = []
    for entry in entries:
        if isinstance(entry, str):
            canonical = canonical_context_url(entry)
            if canonical is not None:
                kept.append(canonical)
            elif is_known_extension(entry):
                kept.extend([AS_CONTEXT, SECURITY_CONTEXT])
        elif isinstance(entry, dict):
            kept.append({k: v for k, v in entry.items() if k != "@import"})
    return kept


def normalize(doc: Any) -> dict[str, Any]:
    """The document as a compact ActivityStreams dict that can be read with plain keys."""
    if not needs_jsonld(doc):
        if not isinstance(doc, dict):
            raise DocumentError("not-an-object")
        return doc
    if isinstance(doc, dict) and "@context" in doc:
        doc = {**doc, "@context": _offline_context(doc["@context"])}
    global compactions
    compactions += 1
    pyld = _pyld()
    try:
        compacted = pyld.compact(doc, _COMPACT_CONTEXT, _OPTIONS)
    except (pyld.JsonLdError, TypeError, ValueError, KeyError, RecursionError) as e:
        raise DocumentError("bad-jsonld", type(e).__name__) from e
    if "@graph" in compacted:
        graph = compacted["@graph"]
        if not (isinstance(graph, list) and len(graph) == 1 and isinstance(graph[0], dict)):
            raise DocumentError("not-one-document")
        compacted = {"@context": compacted.get("@context"), **graph[0]}
    if "id" not in compacted and "type" not in compacted:
        raise DocumentError("not-one-document")
    document: dict[str, Any] = _plain(compacted)
    return document


def _plain(value: Any) -> Any:
    """Compaction leaves AS terms it has no short name for as `as:x`, and language-tagged strings as
    value objects; plain readers want `x` and the string."""
    if isinstance(value, dict):
        if "@value" in value:
            return value["@value"]
        out = {}
        for key, item in value.items():
            if key.startswith("as:"):
                key = key[3:]
            elif key.startswith(_AS_NS):
                key = key[len(_AS_NS) :]
            out[key] = _plain(item)
        return out
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# -- reading values of any shape -----------------------------------------------------------------------


def is_public(iri: Any) -> bool:
    """The public collection, in any spelling Mastodon accepts (full IRI, as:Public, Public)."""
    return isinstance(iri, str) and iri in _PUBLIC_SPELLINGS


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def types_of(doc: dict[str, Any]) -> tuple[str, ...]:
    """A document's types: the strings of its `type` (one or a list). Anything else there (an object, a
    number, a list in a list) names no type: remote documents put anything anywhere."""
    return tuple(t for t in as_list(doc.get("type")) if isinstance(t, str))


def id_of(value: Any) -> str | None:
    """A string IRI, or the id of an embedded object (or of the first of a list); else None."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        found = value.get("id", value.get("@id"))
        return found if isinstance(found, str) else None
    return None
