"""agent presence: the status presence replaced with offline, given back on return

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The check goes with the column (ALTER TABLE … ADD COLUMN … CHECK): SQLite takes it
    # there without rebuilding the table.
    op.add_column('agents', sa.Column(
        'status_before_presence', sa.String(length=16),
        sa.CheckConstraint("status_before_presence IN ('online', 'away')",
                           name=op.f('ck_agents_status_before_presence')),
        nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('agents') as batch_op:
        batch_op.drop_constraint(op.f('ck_agents_status_before_presence'), type_='check')
        batch_op.drop_column('status_before_presence')
