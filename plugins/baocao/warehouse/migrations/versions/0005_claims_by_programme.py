"""intake claims name the programme whose inbox holds the file

Programmes of one deployment share the warehouse and their inboxes have the same relative
paths (``inbox/SNV/…``): an intake takes over only its own programme's unfinished claims.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intake_claims") as batch_op:
        batch_op.add_column(sa.Column("programme", sa.String(64), nullable=False,
                                      server_default=""))
        batch_op.create_index("ix_intake_claims_programme", ["programme"])


def downgrade() -> None:
    with op.batch_alter_table("intake_claims") as batch_op:
        batch_op.drop_index("ix_intake_claims_programme")
        batch_op.drop_column("programme")
