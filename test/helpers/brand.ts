/** The demo brand's identity as `{{brand.*}}` fields: for tests and benches that compile emails without a database. */
export const voyageBrand = {
  name: 'Voyage Online',
  legalName: 'Voyage Online SAS',
  address: '12 avenue Kléber, 75116 Paris',
  phone: '0 885 905 600',
  email: 'contact@voyage-online.test',
  dpoContact: 'dpo@voyage-online.test',
  privacyUrl: 'https://voyage-online.test/confidentialite',
};
