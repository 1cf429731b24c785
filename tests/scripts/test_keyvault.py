"""``c2c-ops secret set | rotate | versions`` with the real azure-keyvault-secrets client against a
fake vault over HTTPS (challenge sign-in included). The value must never show: not on the
console, not on standard error, not in the SDK's debug logs."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from c2c_ops.context import ClientOptions, Ops
from c2c_ops.errors import Exit
from tests.scripts.fake_keyvault import TOKEN, VaultState, fake_vault
from tests.scripts.harness import StubCredential, ops_for, run_cli
from tests.scripts.tls import Certificate, make_certificate

CAP = pytest.CaptureFixture[str]
WEBHOOK_VALUE = "https://hooks.example.com/T000/B000/super-secret-signature-42"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def vault(certificate: Certificate) -> Iterator[VaultState]:
    with fake_vault(certificate) as state:
        yield state


def vault_ops(
    vault: VaultState, certificate: Certificate, credential: StubCredential | None = None
) -> Ops:
    options = ClientOptions(
        vault_url=vault.url,
        azure={"connection_verify": str(certificate.cert), "retry_backoff_factor": 0.01},
        # The fake's certificate is for 127.0.0.1, not *.vault.azure.net.
        keyvault={"verify_challenge_resource": False},
    )
    return ops_for(credential=credential or StubCredential(TOKEN), options=options)


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


def test_set_reads_the_value_from_stdin_and_never_shows_it(
    vault: VaultState,
    certificate: Certificate,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: CAP,
) -> None:
    stdin(monkeypatch, WEBHOOK_VALUE + "\n")
    credential = StubCredential(TOKEN)
    with caplog.at_level(logging.DEBUG):
        result = run_cli(vault_ops(vault, certificate, credential), "secret", "set", "--env",
                         "dev", "adf-failure-webhook-url", "--verbose", capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    stored = vault.current("adf-failure-webhook-url")
    assert stored["value"] == WEBHOOK_VALUE  # the trailing newline of `echo` is not part of it
    assert f"new version {stored['version']}" in result.out
    for text in (result.out, result.err, caplog.text):
        assert WEBHOOK_VALUE not in text and "super-secret" not in text
    assert caplog.text  # the SDK did log its HTTP calls, without the body
    # Challenge sign-in: a first request without a token, then the token for Key Vault.
    assert vault.calls[0][2] is False and vault.calls[-1][2] is True
    assert credential.scopes == ["https://vault.azure.net/.default"]


def test_set_reads_the_value_from_an_environment_variable(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    monkeypatch.setenv("WEBHOOK_URL", WEBHOOK_VALUE)
    result = run_cli(vault_ops(vault, certificate), "secret", "set", "--env", "dev", "hook",
                     "--from-env", "WEBHOOK_URL", "--expires-in-days", "90",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK
    assert vault.current("hook")["value"] == WEBHOOK_VALUE and vault.current("hook")["exp"]
    assert WEBHOOK_VALUE not in result.out + result.err


def test_an_empty_value_is_refused_and_nothing_is_written(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    stdin(monkeypatch, "\n")
    result = run_cli(vault_ops(vault, certificate), "secret", "set", "--env", "dev", "hook",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.USAGE and "empty" in result.err
    assert vault.secrets == {} and vault.calls == []


def test_rotate_generates_a_new_version_and_disables_the_previous_ones(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    stdin(monkeypatch, WEBHOOK_VALUE)
    run_cli(vault_ops(vault, certificate), "secret", "set", "--env", "dev", "hook", capsys=capsys)
    old = vault.current("hook")
    refused = run_cli(vault_ops(vault, certificate), "secret", "rotate", "--env", "dev", "hook",
                      "--generate", "--disable-previous", capsys=capsys)  # fmt: skip
    assert refused.code == Exit.REFUSED and "add --yes" in refused.err
    assert vault.current("hook")["version"] == old["version"]  # nothing was written
    result = run_cli(vault_ops(vault, certificate), "secret", "rotate", "--env", "dev", "hook",
                     "--generate", "--disable-previous", "--yes", capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK, result
    new = vault.current("hook")
    assert new["version"] != old["version"] and new["enabled"] and not old["enabled"]
    assert len(new["value"]) >= 64 and new["value"] != WEBHOOK_VALUE  # 48 random bytes, url-safe
    assert new["value"] not in result.out + result.err
    assert f"disabled previous version {old['version']}" in result.out


def test_rotate_keeps_previous_versions_enabled_unless_asked(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    stdin(monkeypatch, WEBHOOK_VALUE)
    run_cli(vault_ops(vault, certificate), "secret", "set", "--env", "dev", "hook", capsys=capsys)
    stdin(monkeypatch, WEBHOOK_VALUE + "-2")
    result = run_cli(vault_ops(vault, certificate), "secret", "rotate", "--env", "dev", "hook",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK
    assert [v["enabled"] for v in vault.secrets["hook"]] == [True, True]
    assert "1 previous version(s) stay enabled" in result.out


def test_rotating_a_secret_that_does_not_exist_exits_6(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    stdin(monkeypatch, WEBHOOK_VALUE)
    result = run_cli(vault_ops(vault, certificate), "secret", "rotate", "--env", "dev", "nope",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.NOT_FOUND
    assert "SecretNotFound" in result.err and "nope" in result.err
    assert vault.secrets == {}


def test_versions_lists_versions_without_values(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    for value in (WEBHOOK_VALUE, WEBHOOK_VALUE + "-2"):
        stdin(monkeypatch, value)
        run_cli(vault_ops(vault, certificate), "secret", "set", "--env", "dev", "hook",
                capsys=capsys)  # fmt: skip
    result = run_cli(vault_ops(vault, certificate), "secret", "versions", "--env", "dev", "hook",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.OK
    for version in vault.secrets["hook"]:
        assert version["version"] in result.out
    assert "super-secret" not in result.out


def test_a_forbidden_vault_exits_5(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    vault.faults["PUT"] = (403, 1)
    stdin(monkeypatch, WEBHOOK_VALUE)
    result = run_cli(vault_ops(vault, certificate), "secret", "set", "--env", "dev", "hook",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.AUTH
    assert "403 Forbidden" in result.err and "role" in result.err
    assert WEBHOOK_VALUE not in result.err


def test_a_vault_firewall_403_is_named_as_the_firewall_not_a_sign_in(
    vault: VaultState, certificate: Certificate, monkeypatch: pytest.MonkeyPatch, capsys: CAP
) -> None:
    vault.faults["PUT"] = (403, 1)
    vault.firewall = True
    stdin(monkeypatch, WEBHOOK_VALUE)
    result = run_cli(vault_ops(vault, certificate), "secret", "set", "--env", "dev", "hook",
                     capsys=capsys)  # fmt: skip
    assert result.code == Exit.BLOCKED
    assert "blocked by the firewall" in result.err and "signing in again will not help" in (
        result.err
    )


def test_the_vault_url_comes_from_the_environment_config(tmp_path: Path) -> None:
    ops = ops_for("prod")
    assert ops.secrets.vault_url == ops.cfg.key_vault_url.rstrip("/")
    assert ops.cfg.key_vault_name in ops.secrets.vault_url
