#!/bin/sh
# One-off (service minio-init): the intake and outbox buckets, and the pipeline's own MinIO user
# limited to those two buckets. Idempotent: run on every `docker compose up`.
# The mc image is minimal (no grep, no sed): POSIX sh and coreutils only.
set -eu
: "${MINIO_ROOT_USER:?}" "${MINIO_ROOT_PASSWORD:?}" "${MINIO_PIPELINE_USER:?}"
: "${MINIO_PIPELINE_PASSWORD:?}" "${INTAKE_BUCKET:?}" "${OUTBOX_BUCKET:?}"
endpoint="${MINIO_ENDPOINT:-http://minio:9000}"
policy_file="${TMPDIR:-/tmp}/baocao-pipeline.json"

mc alias set baocao "$endpoint" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" > /dev/null
mc mb --ignore-existing "baocao/$INTAKE_BUCKET" "baocao/$OUTBOX_BUCKET"

# The pipeline reads, writes and moves (copy + delete) objects in both buckets, nothing else.
cat > "$policy_file" <<JSON
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow",
     "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
     "Resource": ["arn:aws:s3:::$INTAKE_BUCKET", "arn:aws:s3:::$OUTBOX_BUCKET"]},
    {"Effect": "Allow",
     "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts"],
     "Resource": ["arn:aws:s3:::$INTAKE_BUCKET/*", "arn:aws:s3:::$OUTBOX_BUCKET/*"]}
  ]
}
JSON
mc admin policy create baocao baocao-pipeline "$policy_file" > /dev/null
mc admin user add baocao "$MINIO_PIPELINE_USER" "$MINIO_PIPELINE_PASSWORD" > /dev/null
# attaching an already attached policy is an error for mc: check the result instead
mc admin policy attach baocao baocao-pipeline --user "$MINIO_PIPELINE_USER" > /dev/null 2>&1 || true
info=$(mc admin user info baocao "$MINIO_PIPELINE_USER")
case "$info" in
  *baocao-pipeline*) ;;
  *) echo "policy baocao-pipeline is not attached to $MINIO_PIPELINE_USER" >&2; exit 1 ;;
esac
rm -f "$policy_file"
echo "buckets $INTAKE_BUCKET and $OUTBOX_BUCKET ready; pipeline user $MINIO_PIPELINE_USER"
