import { createRequire } from 'node:module';
import type Nodemailer from 'nodemailer';
import type Addressparser from 'nodemailer/lib/addressparser';
import type MailComposer from 'nodemailer/lib/mail-composer';

/**
 * nodemailer's parts, each loaded on first use (nodemailer costs ~40 ms at start-up): workers need
 * the composer only when an app sends mail, and only the delivery agent needs the SMTP transport.
 */
const require = createRequire(import.meta.url);
let transport: typeof Nodemailer | undefined;
let composer: typeof MailComposer | undefined;
let parser: typeof Addressparser | undefined;

export function nodemailer(): typeof Nodemailer {
  return (transport ??= require('nodemailer') as typeof Nodemailer);
}

export function mailComposer(): typeof MailComposer {
  return (composer ??= require('nodemailer/lib/mail-composer') as typeof MailComposer);
}

export function addressparser(): typeof Addressparser {
  return (parser ??= require('nodemailer/lib/addressparser') as typeof Addressparser);
}
