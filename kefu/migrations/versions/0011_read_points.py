"""read points: how far each reader has read a conversation

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 10:20:28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('read_points',
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('reader', sa.String(length=36), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('public_seq', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_read_points_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'reader', name=op.f('pk_read_points'))
    )


def downgrade() -> None:
    op.drop_table('read_points')
