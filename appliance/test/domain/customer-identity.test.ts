import t from 'tap';
import { isValidBankCard, isValidMobile, isValidResidentId, maskBankCard, maskMobile, maskName, maskResidentId } from '../../src/domain/customer-identity.js';

t.test('GB 11643-1999 check character', async (t) => {
  // The standard's worked example and numbers whose check character is X.
  t.ok(isValidResidentId('11010519491231002X'));
  t.ok(isValidResidentId('11010519491231002x'), 'lower-case x accepted');
  t.ok(isValidResidentId('440524188001010014'), 'born 1880');
  t.notOk(isValidResidentId('110105194912310021'), 'wrong check character');
  t.notOk(isValidResidentId('11010519491331002X'), 'month 13');
  t.notOk(isValidResidentId('11010519490230002X'), '30 February');
  t.notOk(isValidResidentId('1101051949123100'), 'too short');
  t.notOk(isValidResidentId('11010519491231002Y'), 'bad character');
});

t.test('mobile numbers and bank cards', async (t) => {
  t.ok(isValidMobile('13812345678'));
  t.ok(isValidMobile('+86 138 1234 5678'));
  t.notOk(isValidMobile('12812345678'), 'second digit 2');
  t.notOk(isValidMobile('1381234567'), '10 digits');
  t.ok(isValidBankCard('4111 1111 1111 1111'));
  t.ok(isValidBankCard('6222020200112233445') === isValidBankCard('6222020200112233445'));
  t.notOk(isValidBankCard('4111111111111112'), 'Luhn fails');
  t.notOk(isValidBankCard('41111'), 'too short');
});

t.test('masking keeps only what a role needs', async (t) => {
  t.equal(maskResidentId('11010519491231002X'), '110***********002X');
  t.equal(maskMobile('13812345678'), '138****5678');
  t.equal(maskMobile('+8613812345678'), '138****5678');
  t.equal(maskName('张三'), '张*');
  t.equal(maskName('欧阳娜娜'), '欧***');
  t.equal(maskName('Li'), 'L*');
  t.equal(maskBankCard('4111111111111111'), '4111********1111');
});
