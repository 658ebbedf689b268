/**
 * How a call's exchange ended, with Skitai's numbers. NORMAL means a response came back — whatever
 * its HTTP code, which is `Result.code` (a 500 is NORMAL). UNSENT: an RPC call object on which no
 * method was called.
 */
export enum Status {
  UNSENT = 0,
  TIMEOUT = 1,
  NETERR = 2,
  NORMAL = 3,
}
