"""The `BlobStore` contract: one set of tests every implementation of the port must pass.

Subclass `BlobStoreContract` and provide a `store` fixture; the `container` fixture below creates a
fresh container in it for each test.
"""

from __future__ import annotations

import uuid

import pytest

from shared.errors import BlobNotFoundError, ETagConflictError, PermanentError
from shared.storage import BlobStore

PAYLOAD = bytes(range(256)) * 800  # 200 KiB: several 64 KiB chunks


class BlobStoreContract:
    """Behaviour shared by `InMemoryBlobStore` and `AzureBlobStore`."""

    @pytest.fixture
    def container(self, store: BlobStore) -> str:
        name = f"contract-{uuid.uuid4().hex[:20]}"
        store.ensure_container(name)
        return name

    def test_upload_returns_the_etag_that_properties_and_reads_report(self, store: BlobStore, container: str) -> None:
        etag = store.upload(
            container, "a/b.jsonl", b'{"x": 1}\n', content_type="application/jsonl", metadata={"k": "v"}
        )
        info = store.get_info(container, "a/b.jsonl")
        assert (info.container, info.name, info.etag, info.size) == (container, "a/b.jsonl", etag, 9)
        assert info.content_type == "application/jsonl"
        assert info.metadata == {"k": "v"}
        assert info.last_modified.tzinfo is not None
        assert store.read_bytes(container, "a/b.jsonl") == (b'{"x": 1}\n', etag)

    def test_content_type_defaults_to_octet_stream(self, store: BlobStore, container: str) -> None:
        store.upload(container, "plain", b"x")
        assert store.get_info(container, "plain").content_type == "application/octet-stream"

    def test_download_streams_a_multi_chunk_blob_in_bounded_chunks(self, store: BlobStore, container: str) -> None:
        store.upload(container, "big.bin", PAYLOAD)
        chunks = list(store.download_chunks(container, "big.bin", chunk_bytes=64 * 1024))
        assert len(chunks) == 4
        assert all(len(chunk) <= 64 * 1024 for chunk in chunks)
        assert b"".join(chunks) == PAYLOAD

    def test_upload_from_an_iterable_of_chunks(self, store: BlobStore, container: str) -> None:
        parts = [PAYLOAD[i : i + 50_000] for i in range(0, len(PAYLOAD), 50_000)]
        etag = store.upload(container, "streamed.bin", (part for part in parts), metadata={"source": "gen"})
        assert store.read_bytes(container, "streamed.bin") == (PAYLOAD, etag)
        assert store.get_info(container, "streamed.bin").metadata == {"source": "gen"}

    def test_upload_from_an_empty_iterable_makes_an_empty_blob(self, store: BlobStore, container: str) -> None:
        store.upload(container, "empty", iter([]))
        assert store.read_bytes(container, "empty")[0] == b""
        assert list(store.download_chunks(container, "empty")) == []

    def test_a_rewrite_changes_the_etag_and_replaces_metadata(self, store: BlobStore, container: str) -> None:
        first = store.upload(container, "f", b"1", metadata={"a": "1"})
        second = store.upload(container, "f", b"2", metadata={"b": "2"})
        assert first != second
        info = store.get_info(container, "f")
        assert (info.etag, info.metadata) == (second, {"b": "2"})

    def test_if_match_writes_over_the_current_etag(self, store: BlobStore, container: str) -> None:
        etag = store.upload(container, "alias.json", b"v1")
        new_etag = store.upload(container, "alias.json", b"v2", if_match=etag)
        assert store.read_bytes(container, "alias.json") == (b"v2", new_etag)

    def test_if_match_with_a_stale_etag_raises_conflict_and_keeps_the_blob(
        self, store: BlobStore, container: str
    ) -> None:
        stale = store.upload(container, "alias.json", b"v1")
        current = store.upload(container, "alias.json", b"v2")
        with pytest.raises(ETagConflictError, match=f"{container}/alias.json"):
            store.upload(container, "alias.json", b"lost update", if_match=stale)
        assert store.read_bytes(container, "alias.json") == (b"v2", current)

    def test_a_streamed_upload_with_a_stale_etag_raises_conflict(self, store: BlobStore, container: str) -> None:
        stale = store.upload(container, "big.bin", b"v1")
        current = store.upload(container, "big.bin", b"v2")
        with pytest.raises(ETagConflictError):
            store.upload(container, "big.bin", iter([PAYLOAD, PAYLOAD]), if_match=stale)
        assert store.read_bytes(container, "big.bin") == (b"v2", current)

    def test_if_match_on_a_missing_blob_raises_conflict(self, store: BlobStore, container: str) -> None:
        with pytest.raises(ETagConflictError):
            store.upload(container, "never-written", b"x", if_match='"0x8DC0000000001"')

    def test_if_none_match_any_creates_only_once(self, store: BlobStore, container: str) -> None:
        etag = store.upload(container, "once", b"first", if_none_match_any=True)
        with pytest.raises(ETagConflictError, match="already exists"):
            store.upload(container, "once", b"second", if_none_match_any=True)
        assert store.read_bytes(container, "once") == (b"first", etag)

    def test_both_conditions_at_once_are_refused(self, store: BlobStore, container: str) -> None:
        with pytest.raises(ValueError, match="exclude each other"):
            store.upload(container, "x", b"x", if_match='"0x1"', if_none_match_any=True)

    def test_tags_merge_and_do_not_change_the_etag(self, store: BlobStore, container: str) -> None:
        etag = store.upload(container, "t.jsonl", b"x")
        store.set_tags(container, "t.jsonl", {"ft_run_id": "ft-a-1", "ft_status": "accepted"})
        store.set_tags(container, "t.jsonl", {"ft_status": "succeeded"})
        assert store.get_tags(container, "t.jsonl") == {"ft_run_id": "ft-a-1", "ft_status": "succeeded"}
        assert store.get_info(container, "t.jsonl").etag == etag

    def test_a_new_blob_has_no_tags(self, store: BlobStore, container: str) -> None:
        store.upload(container, "t", b"x")
        assert store.get_tags(container, "t") == {}

    def test_a_rewrite_drops_the_old_tags(self, store: BlobStore, container: str) -> None:
        store.upload(container, "t", b"x")
        store.set_tags(container, "t", {"ft_status": "failed"})
        store.upload(container, "t", b"y")
        assert store.get_tags(container, "t") == {}

    def test_more_than_ten_tags_are_refused_and_the_old_ones_kept(self, store: BlobStore, container: str) -> None:
        store.upload(container, "t", b"x")
        store.set_tags(container, "t", {"a": "1"})
        with pytest.raises(PermanentError, match="TagsTooLarge"):
            store.set_tags(container, "t", {f"k{i}": "v" for i in range(10)})
        assert store.get_tags(container, "t") == {"a": "1"}

    def test_a_bad_container_name_is_refused_with_the_name(self, store: BlobStore) -> None:
        with pytest.raises(PermanentError, match="container Bad_Name"):
            store.ensure_container("Bad_Name")

    def test_listing_filters_by_prefix_in_name_order_with_metadata(self, store: BlobStore, container: str) -> None:
        store.upload(container, "runs/b.json", b"b", metadata={"n": "b"})
        store.upload(container, "runs/a.json", b"a", metadata={"n": "a"})
        store.upload(container, "other.json", b"o")
        listed = list(store.list_blobs(container, prefix="runs/"))
        assert [(i.name, i.metadata, i.size, i.container) for i in listed] == [
            ("runs/a.json", {"n": "a"}, 1, container),
            ("runs/b.json", {"n": "b"}, 1, container),
        ]
        assert [i.name for i in store.list_blobs(container)] == ["other.json", "runs/a.json", "runs/b.json"]
        assert listed[0].etag == store.get_info(container, "runs/a.json").etag
        store.upload(container, "runs/a.json", b"a2", if_match=listed[0].etag)

    def test_listing_an_empty_container_yields_nothing(self, store: BlobStore, container: str) -> None:
        assert list(store.list_blobs(container)) == []

    def test_ensure_container_is_idempotent_and_keeps_blobs(self, store: BlobStore, container: str) -> None:
        store.upload(container, "kept", b"x")
        store.ensure_container(container)
        assert [i.name for i in store.list_blobs(container)] == ["kept"]

    def test_every_read_of_a_missing_blob_raises_not_found(self, store: BlobStore, container: str) -> None:
        reads = [
            lambda: store.get_info(container, "missing"),
            lambda: store.read_bytes(container, "missing"),
            lambda: list(store.download_chunks(container, "missing")),
            lambda: store.get_tags(container, "missing"),
            lambda: store.set_tags(container, "missing", {"a": "b"}),
        ]
        for read in reads:
            with pytest.raises(BlobNotFoundError, match=f"{container}/missing"):
                read()

    def test_a_missing_container_raises_not_found(self, store: BlobStore) -> None:
        absent = f"absent-{uuid.uuid4().hex[:12]}"
        with pytest.raises(BlobNotFoundError, match=f"container {absent}"):
            store.upload(absent, "x", b"x")
        with pytest.raises(BlobNotFoundError, match=f"container {absent}"):
            list(store.list_blobs(absent))

    def test_url_names_the_blob_without_any_query(self, store: BlobStore, container: str) -> None:
        url = store.url(container, "team a/data.jsonl")
        assert url.endswith(f"/{container}/team%20a/data.jsonl")
        assert "?" not in url
