import type { Queryable } from '../db/database.js';
import type { ProductDefinition, ProductView, ScriptStepDefinition } from '../domain/product.js';

interface ProductVersionRow {
  product_code: string;
  version: number;
  name_zh: string;
  name_en: string;
  retention_years: number;
  requires_geolocation: boolean;
  steps: ScriptStepDefinition[];
  created_by: string;
  created_at: Date;
}

const COLUMNS = 'v.product_code, v.version, v.name_zh, v.name_en, v.retention_years, v.requires_geolocation, v.steps, v.created_by, v.created_at';

function toView(r: ProductVersionRow): ProductView {
  return {
    code: r.product_code,
    version: r.version,
    nameZh: r.name_zh,
    nameEn: r.name_en,
    retentionYears: r.retention_years,
    requiresGeolocation: r.requires_geolocation,
    steps: r.steps,
    createdBy: r.created_by,
    createdAt: r.created_at.toISOString(),
  };
}

/** The catalogue: products and their append-only versions. */
export const productRepository = {
  async listCurrent(db: Queryable): Promise<ProductView[]> {
    const r = await db.query<ProductVersionRow>(`SELECT ${COLUMNS} FROM products p JOIN product_versions v ON v.product_code = p.code AND v.version = p.current_version ORDER BY p.code`);
    return r.rows.map(toView);
  },

  async current(db: Queryable, code: string, forUpdate = false): Promise<ProductView | null> {
    const r = await db.query<ProductVersionRow>(
      `SELECT ${COLUMNS} FROM products p JOIN product_versions v ON v.product_code = p.code AND v.version = p.current_version
        WHERE p.code = $1${forUpdate ? ' FOR UPDATE OF p' : ''}`,
      [code],
    );
    return r.rows[0] ? toView(r.rows[0]) : null;
  },

  async version(db: Queryable, code: string, version: number): Promise<ProductView | null> {
    const r = await db.query<ProductVersionRow>(`SELECT ${COLUMNS} FROM product_versions v WHERE v.product_code = $1 AND v.version = $2`, [code, version]);
    return r.rows[0] ? toView(r.rows[0]) : null;
  },

  async versions(db: Queryable, code: string): Promise<ProductView[]> {
    const r = await db.query<ProductVersionRow>(`SELECT ${COLUMNS} FROM product_versions v WHERE v.product_code = $1 ORDER BY v.version`, [code]);
    return r.rows.map(toView);
  },

  /** A new product (version 1); false when the code exists. */
  async create(db: Queryable, p: ProductDefinition, by: string): Promise<boolean> {
    const r = await db.query(`INSERT INTO products (code, current_version, created_by) VALUES ($1, 1, $2) ON CONFLICT DO NOTHING`, [p.code, by]);
    if (r.rowCount !== 1) return false;
    await insertVersion(db, p, 1, by);
    return true;
  },

  /** Appends version `version` and makes it current. */
  async addVersion(db: Queryable, p: ProductDefinition, version: number, by: string): Promise<void> {
    await insertVersion(db, p, version, by);
    await db.query(`UPDATE products SET current_version = $2, updated_at = now() WHERE code = $1`, [p.code, version]);
  },
};

async function insertVersion(db: Queryable, p: ProductDefinition, version: number, by: string): Promise<void> {
  await db.query(
    `INSERT INTO product_versions (product_code, version, name_zh, name_en, retention_years, requires_geolocation, steps, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [p.code, version, p.nameZh, p.nameEn, p.retentionYears, p.requiresGeolocation, JSON.stringify(p.steps), by],
  );
}
