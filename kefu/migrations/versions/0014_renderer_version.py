"""article HTML records the renderer version that made it

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-28 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get 0, older than every renderer version: the app renders them again when
    # it starts (kefu.kb.rerender). A plain ADD COLUMN with a default on both databases.
    op.add_column('kb_translations', sa.Column(
        'renderer_version', sa.Integer(), server_default=sa.text('0'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('kb_translations') as batch_op:
        batch_op.drop_column('renderer_version')
