-- Data kept beside a leaf but not hashed into it. The CT log stores each
-- entry's RFC 6962 `extra_data` here (the submitted chain, and for a
-- precertificate the precertificate itself), served by get-entries.
-- Written in the same transaction as the leaf. NULL for Rekor entries.
ALTER TABLE entries ADD COLUMN extra_data BLOB;
