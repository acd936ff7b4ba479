"""intake claims belong to an owner (a run's try); poison files are counted

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_owners",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("process_started", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("working_on", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_intake_owners_run_id", "intake_owners", ["run_id"])
    with op.batch_alter_table("intake_claims") as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("unfinished", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.create_index("ix_intake_claims_owner", ["owner"])
        batch_op.create_index("ix_intake_claims_done", ["done"])


def downgrade() -> None:
    with op.batch_alter_table("intake_claims") as batch_op:
        batch_op.drop_index("ix_intake_claims_done")
        batch_op.drop_index("ix_intake_claims_owner")
        batch_op.drop_column("unfinished")
        batch_op.drop_column("owner")
    op.drop_index("ix_intake_owners_run_id", table_name="intake_owners")
    op.drop_table("intake_owners")
