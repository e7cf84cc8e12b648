"""The wildlife and retail pages are English-first and speak Russian on request, from the same catalogue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sightings.api.app import create_app
from sightings.core.config import load_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = load_settings(overrides={"data_dir": str(tmp_path / "data")}).settings
    return TestClient(create_app(settings))


@pytest.mark.parametrize(
    ("path", "english", "russian"),
    [
        ("/wildlife", "Wildlife photo-ID", "Фотоидентификация животных"),
        ("/retail", "Seller (chart)", "Продавец (график)"),
    ],
)
def test_pages_are_english_first_and_russian_on_request(
    client: TestClient, path: str, english: str, russian: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200 and english in page.text and '<html lang="en">' in page.text
    by_query = client.get(path, params={"lang": "ru"}).text
    by_header = client.get(path, headers={"Accept-Language": "ru-RU,ru;q=0.9"}).text
    for text in (by_query, by_header):
        assert russian in text and english not in text and '<html lang="ru">' in text
    assert english in client.get(path, params={"lang": "de"}).text  # no German catalogue: English


@pytest.mark.parametrize(("path", "key", "english", "russian"), [
    ("/wildlife", "new_individual", "New individual?", "Новая особь?"),
    ("/retail", "no_interactions", "no interactions", "взаимодействий нет"),
])  # fmt: skip
def test_the_script_sentences_come_from_the_catalogue(
    client: TestClient, path: str, key: str, english: str, russian: str
) -> None:
    import json
    import re

    def strings(**params: str) -> dict[str, Any]:
        page = client.get(path, params=params).text
        found = re.search(r'<script id="page-strings" type="application/json">(.*?)</script>', page, re.S)
        assert found is not None
        return dict(json.loads(found.group(1)))

    in_english, in_russian = strings(), strings(lang="ru")
    assert in_english.keys() == in_russian.keys() and in_english[key] == english and in_russian[key] == russian
