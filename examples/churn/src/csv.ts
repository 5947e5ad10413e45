/**
 * Just enough CSV for numeric/categorical tabular data: comma separated, optional double quotes
 * around a field (with "" for a quote), one record per line. No multi-line fields.
 */
export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line.charAt(i);
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  fields.push(field);
  return fields.map((f) => f.trim());
}

export function csvLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

/** Parses CSV text whose first line is a header. */
export function parseCsv(text: string): Table {
  const lines = csvLines(text);
  const headerLine = lines.shift();
  if (headerLine === undefined) throw new Error('CSV is empty: expected a header line');
  const header = parseCsvLine(headerLine);
  const rows = lines.map((line, index) => {
    const row = parseCsvLine(line);
    if (row.length !== header.length) {
      throw new Error(`CSV line ${index + 2} has ${row.length} fields, the header has ${header.length}`);
    }
    return row;
  });
  return { header, rows };
}

function quote(value: string): string {
  return /[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [header, ...rows].map((row) => row.map((v) => quote(String(v))).join(',')).join('\n') + '\n';
}
