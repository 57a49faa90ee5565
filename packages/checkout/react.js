// @qfpay-edge/checkout/react: the same loader (importing it defines <qfpay-checkout>); the
// entry exists for its types, which add the element to React's JSX (react.d.ts).
export * from "./qfpay-checkout.js";
