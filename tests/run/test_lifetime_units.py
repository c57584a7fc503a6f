"""Units behind the fault catalogue's guarantees: owner identity, redaction forms, URL
credentials and CSV neutralisation (the probes in tests/faults/ exercise them end to end)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from urllib.parse import quote

import pytest

from novaload.lifetime import Owner
from novaload.redact import MASK, Redactor, safe_url, url_credentials
from novaload.reports.tables import neutralise_cell
from novaload.runners.labels import owner_labels, owner_of


def test_an_owner_is_alive_until_it_exits_and_a_reused_pid_is_not_it():
    me = Owner.current()
    assert me.alive() and me.on_this_machine()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = Owner(child.pid, Owner.current().started, me.boot_id)
    child.wait()
    assert not owner.alive()
    assert not replace(me, started="1").alive()  # same PID, another start: not the owner
    assert not replace(me, boot_id="another-boot").on_this_machine()


def test_owner_labels_round_trip_and_unlabelled_containers_have_no_owner():
    me = Owner.current()
    assert owner_of(owner_labels(me)) == me
    assert owner_of({"io.novaload.managed": "true"}) is None


SECRET = 'pa"ss\\wo rd&=?/x1'


@pytest.mark.parametrize(
    "printed",
    [
        SECRET,
        json.dumps(SECRET)[1:-1],
        json.dumps(json.dumps(SECRET)[1:-1])[1:-1],  # JSON inside a logfmt k6 line
        quote(SECRET, safe=""),
        "pa&quot;ss\\wo rd&amp;=?/x1",  # report.html
    ],
    ids=["raw", "json", "json-in-logfmt", "url-encoded", "html"],
)
def test_the_redactor_masks_each_form_a_secret_is_printed_in(printed):
    assert Redactor([SECRET])(f"before {printed} after") == f"before {MASK} after"


def test_url_credentials_are_secrets_and_dropped_from_urls():
    url = "http://user:p%40ss@[::1]:8443/api"
    assert safe_url(url) == "http://[::1]:8443/api"
    assert "p@ss" in url_credentials(url) and "p%40ss" in url_credentials(url)
    assert "user" not in url_credentials(url)  # a user name alone is not masked
    assert url_credentials("http://user@host/") == ()


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_csv_cells_a_spreadsheet_would_evaluate_get_a_quote(cell):
    assert neutralise_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["health", -1.5, 3, None, ""])
def test_other_csv_cells_are_untouched(cell):
    assert neutralise_cell(cell) == cell
