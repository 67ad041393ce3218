-- The archive's exact totals over broad filters (a product's cases in one status, every case awaiting review) counted
-- rows through the heap. These indexes let PostgreSQL count them from the index alone and page them in order.
CREATE INDEX cases_status_product_created_idx ON cases (status, product, created_at DESC, id DESC);
CREATE INDEX cases_status_branch_created_idx ON cases (status, branch, created_at DESC, id DESC);
