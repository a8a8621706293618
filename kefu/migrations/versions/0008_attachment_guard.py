"""attachment guard: each file's masked text, and withheld files (bytes and hash deleted)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Files stored before were never read: their text status is "none".
    with op.batch_alter_table('attachments') as batch_op:
        batch_op.add_column(sa.Column('text_status', sa.String(length=16), server_default='none',
                                      nullable=False))
        batch_op.add_column(sa.Column('extracted_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('withheld_reason', sa.String(length=200), nullable=True))
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_check_constraint(
            op.f('ck_attachments_text_status'),
            "text_status IN ('none', 'extracted', 'partial', 'unreadable')")
        batch_op.create_check_constraint(
            op.f('ck_attachments_withheld'), '(withheld_reason IS NULL) = (sha256 IS NOT NULL)')


def downgrade() -> None:
    with op.batch_alter_table('attachments') as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_withheld'), type_='check')
        batch_op.drop_constraint(op.f('ck_attachments_text_status'), type_='check')
    # A withheld file has no hash to restore; its row stays, its download answers 404.
    op.execute("UPDATE attachments SET sha256 = '' WHERE sha256 IS NULL")
    with op.batch_alter_table('attachments') as batch_op:
        batch_op.alter_column('sha256', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('withheld_reason')
        batch_op.drop_column('extracted_text')
        batch_op.drop_column('text_status')
