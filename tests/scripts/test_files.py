"""``c2c-ops files list | upload | get | reject`` with the real azure-storage-blob client against
the Azurite emulator over HTTPS, signed in with a bearer token (no account key)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.blob import BlobServiceClient

from c2c_ops.context import ClientOptions
from c2c_ops.errors import Exit
from tests.scripts.azurite import Azurite, StorageTokenCredential, azurite
from tests.scripts.harness import ops_for, run_cli
from tests.scripts.tls import Certificate, make_certificate

CAP = pytest.CaptureFixture[str]
CSV = b"identifierHash,type,country\n-1,user,France\n"


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Azurite, Certificate]]:
    certificate = make_certificate(tmp_path_factory.mktemp("tls"))
    with azurite(tmp_path_factory.mktemp("azurite"), certificate) as running:
        yield running, certificate


@pytest.fixture
def storage(emulator: tuple[Azurite, Certificate]) -> Iterator[BlobServiceClient]:
    """A fresh landing container (infra creates it in Azure)."""
    running, certificate = emulator
    client = BlobServiceClient(
        running.blob_url, StorageTokenCredential(), connection_verify=str(certificate.cert)
    )
    container = client.get_container_client("landing")
    container.create_container()
    yield client
    container.delete_container()


def files_ops(emulator: tuple[Azurite, Certificate]):
    running, certificate = emulator
    options = ClientOptions(
        blob_url=running.blob_url,
        azure={"connection_verify": str(certificate.cert), "retry_backoff_factor": 0.01},
    )
    return ops_for(credential=StorageTokenCredential(), options=options)


def write(path: Path, data: bytes = CSV) -> Path:
    path.write_bytes(data)
    return path


def test_upload_drops_files_in_landing_and_a_rerun_changes_nothing(
    emulator: tuple[Azurite, Certificate], storage: BlobServiceClient, tmp_path: Path, capsys: CAP
) -> None:
    users = write(tmp_path / "users.csv")
    result = run_cli(files_ops(emulator), "files", "upload", "--env", "dev", str(users),
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    blob = storage.get_blob_client("landing", "drops/users.csv")
    assert blob.download_blob().readall() == CSV
    assert blob.get_blob_properties().metadata["sha256"] == hashlib.sha256(CSV).hexdigest()
    etag = blob.get_blob_properties().etag
    again = run_cli(files_ops(emulator), "files", "upload", "--env", "dev", str(users),
                    capsys=capsys)  # fmt: skip
    assert again.code == Exit.OK and "identical" in again.out
    assert blob.get_blob_properties().etag == etag  # not rewritten


def test_upload_never_overwrites_a_different_file(
    emulator: tuple[Azurite, Certificate], storage: BlobServiceClient, tmp_path: Path, capsys: CAP
) -> None:
    run_cli(files_ops(emulator), "files", "upload", "--env", "dev",
            str(write(tmp_path / "users.csv")), capsys=capsys)  # fmt: skip
    other = tmp_path / "other"
    other.mkdir()
    changed = write(other / "users.csv", CSV + b"-2,user,Italie\n")
    result = run_cli(files_ops(emulator), "files", "upload", "--env", "dev", str(changed),
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.CONFLICT
    assert "already holds a different file; nothing was overwritten" in result.err
    kept = storage.get_blob_client("landing", "drops/users.csv").download_blob().readall()
    assert kept == CSV


def test_reject_moves_a_bad_file_aside_with_its_reason(
    emulator: tuple[Azurite, Certificate], storage: BlobServiceClient, tmp_path: Path, capsys: CAP
) -> None:
    bad = write(tmp_path / "users.csv", b"\x00\x01 not a csv\n" * 1000)
    run_cli(files_ops(emulator), "files", "upload", "--env", "dev", str(bad), "--folder",
            "runs/r1", capsys=capsys)  # fmt: skip
    result = run_cli(files_ops(emulator), "files", "reject", "--env", "dev", "runs/r1/users.csv",
                     "--reason", "binary file from the partner", capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    container = storage.get_container_client("landing")
    names = [b.name for b in container.list_blobs()]
    assert "runs/r1/users.csv" not in names  # runs no longer see it
    (moved,) = [n for n in names if n.startswith("_rejected/")]
    assert moved.endswith("/runs/r1/users.csv")
    blob = container.get_blob_client(moved)
    assert blob.download_blob().readall() == bad.read_bytes()  # nothing lost
    metadata = blob.get_blob_properties().metadata
    assert metadata["reason"] == "binary file from the partner"
    assert metadata["original"] == "runs/r1/users.csv"
    listing = run_cli(files_ops(emulator), "files", "list", "--env", "dev", "--prefix",
                      "_rejected/", capsys=capsys)  # fmt: skip
    assert "binary file from the partner" in listing.out and "1 file(s)" in listing.out


def test_rejecting_a_missing_file_exits_6(
    emulator: tuple[Azurite, Certificate], storage: BlobServiceClient, capsys: CAP
) -> None:
    result = run_cli(files_ops(emulator), "files", "reject", "--env", "dev", "runs/x.csv",
                     "--reason", "r", capsys=capsys)  # fmt: skip
    assert result.code == Exit.NOT_FOUND and "does not exist" in result.err


def test_get_downloads_a_file_to_inspect_it(
    emulator: tuple[Azurite, Certificate], storage: BlobServiceClient, tmp_path: Path, capsys: CAP
) -> None:
    data = CSV * 50_000  # a few MB: several chunks
    run_cli(files_ops(emulator), "files", "upload", "--env", "dev",
            str(write(tmp_path / "big.csv", data)), capsys=capsys)  # fmt: skip
    out = tmp_path / "fetched"
    out.mkdir()
    result = run_cli(files_ops(emulator), "files", "get", "--env", "dev", "drops/big.csv",
                     "--to", str(out), capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK
    assert (out / "big.csv").read_bytes() == data


def test_a_token_the_storage_refuses_exits_5(
    emulator: tuple[Azurite, Certificate], storage: BlobServiceClient, capsys: CAP
) -> None:
    running, certificate = emulator
    options = ClientOptions(
        blob_url=running.blob_url, azure={"connection_verify": str(certificate.cert)}
    )
    # A management-plane token: Azurite, like Azure Storage, rejects its audience.
    from tests.adf_pipelines.fake_adf import StubCredential

    ops = ops_for(credential=StubCredential("not-a-jwt"), options=options)
    result = run_cli(ops, "files", "list", "--env", "dev", capsys=capsys)
    assert result.code == Exit.AUTH
    assert "401" in result.err or "403" in result.err
