"""personal macros: a macro may belong to one agent; titles unique per scope

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARED = sa.text('owner_agent_id IS NULL')


def upgrade() -> None:
    # SQLite cannot drop a table's unique constraint or add a foreign key in place: the batch
    # rebuilds the table there and runs plain ALTER TABLE on PostgreSQL.
    with op.batch_alter_table('macros') as batch_op:
        batch_op.add_column(sa.Column('owner_agent_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_macros_owner_agent_id_agents'), 'agents', ['owner_agent_id'], ['id'],
            ondelete='CASCADE')
        batch_op.create_check_constraint(
            op.f('ck_macros_personal_no_team'), 'owner_agent_id IS NULL OR team_id IS NULL')
        batch_op.drop_constraint('uq_macros_title_language', type_='unique')
        batch_op.create_unique_constraint(
            'uq_macros_owner_title_language', ['owner_agent_id', 'title', 'language'])
    op.create_index('uq_macros_title_language', 'macros', ['title', 'language'], unique=True,
                    sqlite_where=SHARED, postgresql_where=SHARED)


def downgrade() -> None:
    # Without the column a personal macro would turn global, shown to every agent: they go.
    op.execute('DELETE FROM macros WHERE owner_agent_id IS NOT NULL')
    op.drop_index('uq_macros_title_language', table_name='macros')
    with op.batch_alter_table('macros') as batch_op:
        batch_op.drop_constraint('uq_macros_owner_title_language', type_='unique')
        batch_op.drop_constraint(op.f('ck_macros_personal_no_team'), type_='check')
        batch_op.drop_constraint(op.f('fk_macros_owner_agent_id_agents'), type_='foreignkey')
        batch_op.drop_column('owner_agent_id')
        batch_op.create_unique_constraint('uq_macros_title_language', ['title', 'language'])
