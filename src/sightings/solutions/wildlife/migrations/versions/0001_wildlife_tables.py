"""Wildlife tables: species, predictions (the sink of every prediction) and reviews (the audit log).

Revision ID: w0001
Revises:
Create Date: 2025-01-03 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "w0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wildlife_species",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("scientific_name", sa.String(length=256), nullable=True),
        sa.Column("vernacular_name", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_wildlife_species")),
    )
    op.create_table(
        "wildlife_predictions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("species", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("individual_id", sa.String(length=128), nullable=True),
        sa.Column("best_candidate", sa.String(length=128), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("matches", sa.JSON(), nullable=False),
        sa.Column("gate", sa.JSON(), nullable=False),
        sa.Column("media_uri", sa.Text(), nullable=True),
        sa.Column("filename", sa.String(length=512), nullable=True),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("projection", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wildlife_predictions")),
    )
    for column in ("created_at", "species", "status", "individual_id"):
        op.create_index(op.f(f"ix_wildlife_predictions_{column}"), "wildlife_predictions", [column], unique=False)
    op.create_table(
        "wildlife_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("prediction_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("individual_id", sa.String(length=128), nullable=True),
        sa.Column("predicted_id", sa.String(length=128), nullable=True),
        sa.Column("agreed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("reviewer", sa.String(length=128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("embedding_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["prediction_id"],
            ["wildlife_predictions.id"],
            name=op.f("fk_wildlife_reviews_prediction_id_wildlife_predictions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wildlife_reviews")),
    )
    op.create_index(op.f("ix_wildlife_reviews_prediction_id"), "wildlife_reviews", ["prediction_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_wildlife_reviews_prediction_id"), table_name="wildlife_reviews")
    op.drop_table("wildlife_reviews")
    for column in ("created_at", "species", "status", "individual_id"):
        op.drop_index(op.f(f"ix_wildlife_predictions_{column}"), table_name="wildlife_predictions")
    op.drop_table("wildlife_predictions")
    op.drop_table("wildlife_species")
