import t from 'tap';
import { findIdNumber, gb11643CheckChar, isValidGb11643 } from '../../src/ocr/gb11643.js';

t.test('GB 11643 check character (ISO 7064 MOD 11-2)', async (t) => {
  // the standard's own example number
  t.equal(gb11643CheckChar('11010519491231002'), 'X');
  t.ok(isValidGb11643('11010519491231002X'));
  t.notOk(isValidGb11643('110105194912310021'), 'wrong check digit');
  t.notOk(isValidGb11643('110105194913310028'), 'month 13');
  t.notOk(isValidGb11643('11010519490230002' + gb11643CheckChar('11010519490230002')), '30 February');
  t.notOk(isValidGb11643('000000199001010010'), 'no region');
  t.notOk(isValidGb11643('11010519491231002x'), 'lower-case x is not the check character (normalise first)');
  const future = `110105${new Date().getUTCFullYear() + 1}0101001`;
  t.notOk(isValidGb11643(future + gb11643CheckChar(future)), 'born in the future');
});

t.test('finding the number in OCR text', async (t) => {
  t.same(findIdNumber('公民身份号码 1101 0519 4912 3100 2X\n'), { idNumber: '11010519491231002X', checksumValid: true });
  t.same(findIdNumber('7 7X 419963148\n110105194912310021\n'), { idNumber: '110105194912310021', checksumValid: false }, 'a misread is reported, flagged invalid');
  t.same(findIdNumber('no digits here'), { idNumber: null, checksumValid: false });
  t.same(findIdNumber('110105194912310021\n11010519491231002X'), { idNumber: '11010519491231002X', checksumValid: true }, 'a valid candidate wins');
});
