import type { Workspace } from '../domain/workspaces/workspaces.js';
import type { BrandField } from './merge-fields.js';

/** The workspace identity as the `{{brand.*}}` fields and the identity block print it. */
export function brandOf(ws: Workspace): Record<BrandField, string> {
  return {
    name: ws.name,
    legalName: ws.legalName,
    address: `${ws.addressLine}, ${ws.postalCode} ${ws.city}`,
    phone: ws.contactPhone,
    email: ws.contactEmail,
    dpoContact: ws.dpoContact,
    privacyUrl: ws.privacyUrl,
  };
}
