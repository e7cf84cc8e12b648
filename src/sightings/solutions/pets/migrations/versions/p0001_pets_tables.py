"""Pets tables: posts, photos (pHash), animal crops, camera sightings, lost↔found matches, owner feedback.

Revision ID: p0001
Revises:
Create Date: 2025-01-10 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "p0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pets_posts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("link", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("species", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=128), nullable=True),
        sa.Column("district", sa.String(length=128), nullable=True),
        sa.Column("address", sa.String(length=256), nullable=True),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("text_signature", sa.JSON(), nullable=True),
        sa.Column("author", sa.String(length=256), nullable=True),
        sa.Column("repost_of", sa.String(length=128), nullable=True),
        sa.Column("duplicate_of", sa.String(length=64), nullable=True),
        sa.Column("duplicate_reason", sa.String(length=32), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("privacy", sa.Boolean(), nullable=False),
        sa.Column("photo_count", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["duplicate_of"], ["pets_posts.id"], name=op.f("fk_pets_posts_duplicate_of_pets_posts"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pets_posts")),
        sa.UniqueConstraint("source", "source_id", name="uq_pets_posts_source_source_id"),
    )
    with op.batch_alter_table("pets_posts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pets_posts_district"), ["district"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_posts_duplicate_of"), ["duplicate_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_posts_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_posts_posted_at"), ["posted_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_posts_repost_of"), ["repost_of"], unique=False)

    op.create_table(
        "pets_sightings",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("species", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("district", sa.String(length=128), nullable=True),
        sa.Column("embedding_id", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pets_sightings")),
    )
    with op.batch_alter_table("pets_sightings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pets_sightings_camera_id"), ["camera_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_sightings_seen_at"), ["seen_at"], unique=False)

    op.create_table(
        "pets_animals",
        sa.Column("embedding_id", sa.String(length=128), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=True),
        sa.Column("sighting_id", sa.String(length=64), nullable=True),
        sa.Column("gallery", sa.String(length=8), nullable=False),
        sa.Column("photo_index", sa.Integer(), nullable=False),
        sa.Column("tile_index", sa.Integer(), nullable=False),
        sa.Column("x1", sa.Float(), nullable=True),
        sa.Column("y1", sa.Float(), nullable=True),
        sa.Column("x2", sa.Float(), nullable=True),
        sa.Column("y2", sa.Float(), nullable=True),
        sa.Column("species", sa.String(length=16), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("stored", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["pets_posts.id"], name=op.f("fk_pets_animals_post_id_pets_posts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sighting_id"],
            ["pets_sightings.id"],
            name=op.f("fk_pets_animals_sighting_id_pets_sightings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("embedding_id", name=op.f("pk_pets_animals")),
    )
    with op.batch_alter_table("pets_animals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pets_animals_post_id"), ["post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_animals_sighting_id"), ["sighting_id"], unique=False)

    op.create_table(
        "pets_matches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("lost_post_id", sa.String(length=64), nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("calibrated", sa.Boolean(), nullable=False),
        sa.Column("sure", sa.Boolean(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("lost_embedding_id", sa.String(length=128), nullable=True),
        sa.Column("target_embedding_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lost_post_id"],
            ["pets_posts.id"],
            name=op.f("fk_pets_matches_lost_post_id_pets_posts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pets_matches")),
        sa.UniqueConstraint("lost_post_id", "target_kind", "target_id", name="uq_pets_matches_lost_post_id"),
    )
    with op.batch_alter_table("pets_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pets_matches_lost_post_id"), ["lost_post_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_matches_sure"), ["sure"], unique=False)
        batch_op.create_index(batch_op.f("ix_pets_matches_target_id"), ["target_id"], unique=False)

    op.create_table(
        "pets_photos",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("photo_index", sa.Integer(), nullable=False),
        sa.Column("phash", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("tiles", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["pets_posts.id"], name=op.f("fk_pets_photos_post_id_pets_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pets_photos")),
    )
    with op.batch_alter_table("pets_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pets_photos_post_id"), ["post_id"], unique=False)

    op.create_table(
        "pets_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("match_id", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=256), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"], ["pets_matches.id"], name=op.f("fk_pets_feedback_match_id_pets_matches"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pets_feedback")),
    )
    with op.batch_alter_table("pets_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pets_feedback_match_id"), ["match_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pets_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pets_feedback_match_id"))

    op.drop_table("pets_feedback")
    with op.batch_alter_table("pets_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pets_photos_post_id"))

    op.drop_table("pets_photos")
    with op.batch_alter_table("pets_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pets_matches_target_id"))
        batch_op.drop_index(batch_op.f("ix_pets_matches_sure"))
        batch_op.drop_index(batch_op.f("ix_pets_matches_lost_post_id"))

    op.drop_table("pets_matches")
    with op.batch_alter_table("pets_animals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pets_animals_sighting_id"))
        batch_op.drop_index(batch_op.f("ix_pets_animals_post_id"))

    op.drop_table("pets_animals")
    with op.batch_alter_table("pets_sightings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pets_sightings_seen_at"))
        batch_op.drop_index(batch_op.f("ix_pets_sightings_camera_id"))

    op.drop_table("pets_sightings")
    with op.batch_alter_table("pets_posts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pets_posts_repost_of"))
        batch_op.drop_index(batch_op.f("ix_pets_posts_posted_at"))
        batch_op.drop_index(batch_op.f("ix_pets_posts_kind"))
        batch_op.drop_index(batch_op.f("ix_pets_posts_duplicate_of"))
        batch_op.drop_index(batch_op.f("ix_pets_posts_district"))

    op.drop_table("pets_posts")
