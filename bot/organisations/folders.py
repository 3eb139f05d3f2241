"""Where one organisation's things live, inside the bureau's organisations folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ORGANISATION_FILE = "organisation.toml"


@dataclass(frozen=True)
class OrganisationFolder:
    root: Path

    @property
    def id(self) -> str:
        return self.root.name

    @property
    def file(self) -> Path:
        """``[org]`` and the tables the organisation sets differently from the bureau."""
        return self.root / ORGANISATION_FILE

    @property
    def key_file(self) -> Path:
        """Its own key: nothing of one organisation opens with another's."""
        return self.root / "secret.key"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def texts_dir(self) -> Path:
        """Its edited texts, over the bureau's locale files."""
        return self.root / "texts"


def folder_of(organisations_dir: Path, organisation_id: str) -> OrganisationFolder:
    return OrganisationFolder(organisations_dir / organisation_id)
