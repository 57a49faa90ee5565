# The guide's "完整支付流程（Python示例）" (shared/spec/qfpay-api-guide.zh.md), adapted only so a
# test can run it against the simulator:
# - QFPAY_ENV=local takes the base URL from QFPAY_BASE_URL (the project's name for it);
# - the standard library's urllib instead of `requests` (nothing to install);
# - answers are printed as JSON, so the test can read them;
# - `--signtype-header` adds `X-QF-SIGNTYPE: SHA256`, the fix for the guide's missing header;
# - `refund OUT_TRADE_NO TXAMT QF_TRADE_NO` runs the guide's refund_transaction.
# generate_signature is exactly the guide's: SHA256, and the guide sends no X-QF-SIGNTYPE.
#
# Usage: QFPAY_ENV=local QFPAY_BASE_URL=http://127.0.0.1:PORT QFPAY_APPCODE=A QFPAY_KEY=K \
#        python3 guide_client.py [--signtype-header] [pay | refund OUT_TRADE_NO TXAMT QF_TRADE_NO]
import os
import sys
import json
import urllib.error
import urllib.parse
import urllib.request
import hashlib
import datetime
import time

# Load configuration from environment variables
APPCODE = os.getenv('QFPAY_APPCODE')
KEY = os.getenv('QFPAY_KEY')
MCHID = os.getenv('QFPAY_MCHID')
ENV = os.getenv('QFPAY_ENV', 'test')

# Environment URLs
ENV_URLS = {
    'prod': 'https://openapi-hk.qfapi.com',
    'test': 'https://test-openapi-hk.qfapi.com',
    'sandbox': 'https://openapi-int.qfapi.com',
    'local': os.getenv('QFPAY_BASE_URL', 'http://127.0.0.1:8788'),
}

BASE_URL = ENV_URLS.get(ENV, ENV_URLS['test'])

ARGS = sys.argv[1:]
SEND_SIGNTYPE = '--signtype-header' in ARGS
ARGS = [a for a in ARGS if a != '--signtype-header']


def generate_signature(params, key, sign_type='SHA256'):
    """Generate signature for QFPay API request"""
    keys = list(params.keys())
    keys.sort()
    query = []
    for k in keys:
        if k not in ('sign', 'sign_type') and (params[k] or params[k] == 0):
            query.append(f'{k}={params[k]}')
    
    data = '&'.join(query) + key
    
    if sign_type == 'SHA256':
        sha256 = hashlib.sha256()
        sha256.update(data.encode('utf-8'))
        return sha256.hexdigest().upper()
    else:
        md5 = hashlib.md5()
        md5.update(data.encode('utf-8'))
        return md5.hexdigest().upper()


def post(url, data, headers):
    """requests.post(url, data=data, headers=headers).json(), with urllib."""
    if SEND_SIGNTYPE:
        headers['X-QF-SIGNTYPE'] = 'SHA256'
    body = urllib.parse.urlencode(data).encode('utf-8')
    request = urllib.request.Request(url, data=body, headers=headers, method='POST')
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read().decode('utf-8'))
    except urllib.error.HTTPError as error:
        # requests returns non-2xx answers too; read the body the same way.
        return json.loads(error.read().decode('utf-8'))


def create_payment(amount, currency, pay_type, goods_name, notify_url=None):
    """Create a payment request"""
    params = {
        'txamt': str(amount),
        'txcurrcd': currency,
        'pay_type': pay_type,
        'out_trade_no': f"ORDER{int(time.time() * 10000)}",
        'txdtm': datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S'),
        'goods_name': goods_name
    }
    
    if MCHID:
        params['mchid'] = MCHID
    
    if notify_url:
        params['notify_url'] = notify_url
    
    signature = generate_signature(params, KEY)
    
    headers = {
        'X-QF-APPCODE': APPCODE,
        'X-QF-SIGN': signature,
        'Content-Type': 'application/x-www-form-urlencoded'
    }
    
    return post(
        f'{BASE_URL}/trade/v1/payment',
        data=params,
        headers=headers
    )


def query_transaction(out_trade_no):
    """Query transaction status"""
    params = {
        'out_trade_no': out_trade_no,
        'txdtm': datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')
    }
    
    if MCHID:
        params['mchid'] = MCHID
    
    signature = generate_signature(params, KEY)
    
    headers = {
        'X-QF-APPCODE': APPCODE,
        'X-QF-SIGN': signature,
        'Content-Type': 'application/x-www-form-urlencoded'
    }
    
    return post(
        f'{BASE_URL}/trade/v1/query',
        data=params,
        headers=headers
    )


def refund_transaction(out_trade_no, txamt, qf_trade_no=None):
    """Process a refund"""
    params = {
        'out_trade_no': out_trade_no,
        'txamt': str(txamt),
        'txdtm': datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')
    }
    
    if qf_trade_no:
        params['qf_trade_no'] = qf_trade_no
    
    if MCHID:
        params['mchid'] = MCHID
    
    signature = generate_signature(params, KEY)
    
    headers = {
        'X-QF-APPCODE': APPCODE,
        'X-QF-SIGN': signature,
        'Content-Type': 'application/x-www-form-urlencoded'
    }
    
    return post(
        f'{BASE_URL}/trade/v1/refund',
        data=params,
        headers=headers
    )


# Example usage
if __name__ == '__main__':
    if ARGS[:1] == ['refund']:
        out_trade_no, txamt, qf_trade_no = ARGS[1:4]
        result = refund_transaction(out_trade_no, txamt, qf_trade_no)
        print(f"Refund: {json.dumps(result)}")
        sys.exit(0)

    # Create a payment
    result = create_payment(
        amount=100,  # $1.00 HKD
        currency='HKD',
        pay_type='800101',
        goods_name='Test Product'
    )
    print(f"Payment created: {json.dumps(result)}")
    
    if result.get('respcd') == '0000':
        out_trade_no = result['data']['out_trade_no']
        
        # Query transaction
        query_result = query_transaction(out_trade_no)
        print(f"Transaction status: {json.dumps(query_result)}")
