// Writes parquet_hyparquet.parquet and the same table as parquet_hyparquet.csv with an independent
// Parquet implementation, hyparquet-writer 0.17.0 (npm), for dataset/parquet_test.go:
//   npm install hyparquet-writer@0.17.0 && node parquet_hyparquet.mjs
// Row groups of 5 rows, snappy, a legacy UTF8 converted type, a nullable double with
// BYTE_STREAM_SPLIT, DELTA_BINARY_PACKED ints, an unsigned INT32 and a FIXED_LEN_BYTE_ARRAY decimal.
import { writeFileSync } from 'node:fs'
import { parquetWriteFile } from 'hyparquet-writer'

const colour = ['red', 'blue', null, ' green', '?', 'red', 'blue', 'red', 'green', 'blue', null, 'red']
const n = [3, -1, 0, 7, 2, 100, 5, 5, 9, 1, -40, 12]
const big = [10n, 9n, 10n, 2n, 9n, 10n, 2n, 2n, 9n, 10n, 2n, 9n]
const h = [1.5, 2.25, 3, null, 4.125, 1e-7, 2, null, 5.5, -0.75, 1e10, 0.125]
const r = [0.1, 2.5, -1e-3, 3, 0.2, 1e6, 0.3, 7.25, 0.5, 1, 2, 3].map(Math.fround)
const flag = [true, false, true, true, false, false, true, false, true, true, false, true]
const u = [4000000000, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
const price = ['12.34', '-0.05', '0', '999.99', '0.01', '2.5', '-12.34', '0.07', '0.1', '3.33', '-300', '1']
const label = ['cat', 'dog', 'cat', 'bird', 'dog', 'cat', 'bird', 'dog', 'cat', 'dog', 'bird', 'cat']

// price as unscaled integers (cents); the writer encodes them big-endian in 4 bytes
const cents = price.map(s => BigInt(Math.round(Number(s) * 100)))
const columnData = [
  { name: 'colour', data: colour },
  { name: 'n', data: n, encoding: 'DELTA_BINARY_PACKED' },
  { name: 'label', data: label },
  { name: 'big', data: big },
  { name: 'h', data: h, encoding: 'BYTE_STREAM_SPLIT' },
  { name: 'r', data: r },
  { name: 'flag', data: flag },
  { name: 'u', data: u },
  { name: 'price', data: cents },
]
const schema = [
  { name: 'root', num_children: columnData.length },
  { name: 'colour', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'n', type: 'INT32', repetition_type: 'REQUIRED' },
  { name: 'label', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
  { name: 'big', type: 'INT64', repetition_type: 'REQUIRED' },
  { name: 'h', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'r', type: 'FLOAT', repetition_type: 'REQUIRED' },
  { name: 'flag', type: 'BOOLEAN', repetition_type: 'REQUIRED' },
  { name: 'u', type: 'INT32', converted_type: 'UINT_32', repetition_type: 'REQUIRED' },
  { name: 'price', type: 'FIXED_LEN_BYTE_ARRAY', type_length: 4, converted_type: 'DECIMAL', scale: 2, precision: 9, repetition_type: 'REQUIRED' },
]
parquetWriteFile({ filename: 'parquet_hyparquet.parquet', columnData, schema, rowGroupSize: 5 })

const cell = v => v === null ? '' : typeof v === 'boolean' ? (v ? '1' : '0') : String(v)
const lines = [columnData.map(c => c.name).join(',')]
for (let i = 0; i < label.length; i++) {
  lines.push([colour[i], n[i], label[i], big[i], h[i], r[i], flag[i], u[i], price[i]].map(cell).join(','))
}
writeFileSync('parquet_hyparquet.csv', lines.join('\n') + '\n')
