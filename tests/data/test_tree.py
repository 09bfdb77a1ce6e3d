"""Folder manifests: canonical, order-independent, strict when read back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pedigree.data.tree import Entry, Manifest, check_relpath
from pedigree.digest import hash_bytes
from pedigree.errors import IntegrityError, InvalidInput

names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))
paths = st.lists(names, min_size=1, max_size=3).map("/".join)


@given(st.dictionaries(paths, st.binary(max_size=20), min_size=0, max_size=15), st.randoms())
def test_digest_does_not_depend_on_listing_order(files: dict[str, bytes], rnd) -> None:  # type: ignore[no-untyped-def]
    entries = [Entry(p, hash_bytes(b), len(b)) for p, b in files.items()]
    shuffled = list(entries)
    rnd.shuffle(shuffled)
    a, b = Manifest.build(entries), Manifest.build(shuffled)
    assert a.encode() == b.encode()
    assert a.digest == b.digest
    assert Manifest.decode(a.encode()) == a


def test_content_path_size_and_type_all_count() -> None:
    base = Manifest.build([Entry("a.csv", hash_bytes(b"1"), 1)])
    variants = [
        Manifest.build([Entry("a.csv", hash_bytes(b"2"), 1)]),
        Manifest.build([Entry("b.csv", hash_bytes(b"1"), 1)]),
        Manifest.build([Entry("a.csv", hash_bytes(b"1"), 2)]),
        Manifest.build([Entry("a.csv", hash_bytes(b"1"), 1, "symlink")]),
    ]
    assert len({base.digest, *(v.digest for v in variants)}) == 5


def test_encoding_is_documented_canonical_json() -> None:
    m = Manifest.build([Entry("x/é.csv", hash_bytes(b""), 0)])
    text = m.encode().decode()
    assert text.startswith('{"algorithm":"blake3","entries":[["x/é.csv","file",0,"af1349b9')
    assert text.endswith('"]],"format":"pedigree.tree/1"}')
    assert m.digest == hash_bytes(m.encode())


def test_duplicates_and_bad_paths_are_refused() -> None:
    d = hash_bytes(b"")
    with pytest.raises(InvalidInput, match="twice"):
        Manifest.build([Entry("a", d, 0), Entry("a", d, 0)])
    for bad in ("", "/abs", "a//b", "a/./b", "../up", "a/.."):
        with pytest.raises(InvalidInput):
            check_relpath(bad)


def test_decode_refuses_non_canonical_or_foreign_documents() -> None:
    m = Manifest.build([Entry("a", hash_bytes(b"a"), 1)])
    spaced = m.encode().replace(b",", b", ")
    for data in (spaced, b"{}", b"not json", m.encode().replace(b"pedigree.tree/1", b"other/9")):
        with pytest.raises(IntegrityError):
            Manifest.decode(data)
