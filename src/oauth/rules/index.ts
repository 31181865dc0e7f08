/** The rule registry: every family file's rules, in one list. A test checks codes against the catalogue. */
import type { Rule } from './types.js';
import { rules as redirectUri } from './redirect-uri.js';
import { rules as clientAuth } from './client-auth.js';
import { rules as code } from './code.js';
import { rules as grantScope } from './grant-scope.js';
import { rules as state } from './state.js';
import { rules as pkce } from './pkce.js';
import { rules as framing } from './framing.js';
import { rules as responses } from './responses.js';
import { rules as refresh } from './refresh.js';
import { rules as transport } from './transport.js';
import { rules as secrets } from './secrets.js';
import { rules as oidc } from './oidc.js';
import { rules as bearer } from './bearer.js';
import { rules as dpop } from './dpop.js';
import { rules as devicePar } from './device-par.js';

export type { Rule, RuleContext, FindingDraft, Correlation } from './types.js';

export const ALL_RULES: readonly Rule[] = [
  ...transport, ...framing, ...responses, ...clientAuth, ...code, ...redirectUri,
  ...pkce, ...grantScope, ...state, ...refresh, ...secrets, ...oidc, ...bearer, ...dpop, ...devicePar,
];
