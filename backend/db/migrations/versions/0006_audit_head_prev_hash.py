"""audit chain head: the newest event's previous hash, and the head row from the start

The head row now also holds ``prev_hash``, the hash before its ``hash``: one ``UPDATE ... RETURNING``
of the head moves the chain and gives the new event its link (``backend.domain.audit.service``). The
head row is created here, so that the first audited change finds it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(
            sa.Column("prev_hash", sa.String(length=64), nullable=False, server_default=GENESIS_HASH)
        )
    op.execute(
        sa.text(
            "UPDATE audit_head SET prev_hash = coalesce((SELECT audit_events.prev_hash FROM audit_events "
            "WHERE audit_events.seq = audit_head.seq), :genesis)"
        ).bindparams(genesis=GENESIS_HASH)
    )
    op.execute(
        sa.text(
            "INSERT INTO audit_head (id, seq, hash, prev_hash) SELECT 1, 0, :genesis, :genesis "
            "WHERE NOT EXISTS (SELECT 1 FROM audit_head WHERE id = 1)"
        ).bindparams(genesis=GENESIS_HASH)
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("prev_hash")
