#!/usr/bin/env python3
"""Drives the status page of a running `mailcollector run` in one headless Chromium session.

Run by service_status_page_test.cpp, which starts the service against a private Dovecot with
accounts "home" (two messages quarantined by the target), "broken" (wrong password) and "hostile"
(an IMAP folder named like markup), with http_token_file set. Exits 0 when every check holds; else
prints what did not and exits 1.
"""
import argparse
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

TIMEOUT = 60
DRIVER = None  # the browser, to show its page when a check fails


def fail(message):
    print("FAILED: " + message, flush=True)
    if DRIVER is not None:
        print("at " + DRIVER.current_url + ":\n" + DRIVER.page_source[:3000], flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)
    print("ok: " + message, flush=True)


def wait_for(what, predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                print("ok: " + what, flush=True)
                return
        except Exception:  # the page is reloading: ask again
            pass
        time.sleep(0.2)
    fail(what + " (waited %d s)" % timeout)


def status_without_token(url, method, path, body=None):
    request = urllib.request.Request(url + path, method=method, data=body)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def panel(driver, account):
    for section in driver.find_elements(By.CSS_SELECTOR, "section.account"):
        if section.get_attribute("data-account") == account:
            return section
    raise LookupError("no panel for " + account)


def text_of(driver, account, field):
    return panel(driver, account).find_element(By.CSS_SELECTOR, '[data-field="%s"]' % field).text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--hostile", required=True, help="the hostile folder name")
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()

    # Without the token nothing is shown or done, for scripts and forms alike.
    status, body = status_without_token(args.url, "GET", "/")
    check(status == 401 and "home" not in body and 'action="/login"' in body,
          "without the token / is a login form that names no account")
    check(status_without_token(args.url, "GET", "/status.json")[0] == 401, "without the token /status.json is 401")
    check(status_without_token(args.url, "POST", "/poll/home", b"")[0] == 401, "without the token POST /poll is 401")
    check(status_without_token(args.url, "POST", "/ui/poll", b"account=home")[0] == 401,
          "without the token the page's poll form is 401")

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1000,1500", "--force-prefers-reduced-motion"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    global DRIVER
    DRIVER = driver
    try:
        driver.get(args.url + "/")
        check(driver.find_elements(By.CSS_SELECTOR, "section.account") == [], "the browser sees no account before login")
        driver.find_element(By.NAME, "token").send_keys("not-the-token")
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait_for("a wrong token is refused", lambda: "is not the one" in driver.page_source)
        driver.find_element(By.NAME, "token").send_keys(args.token)
        driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
        wait_for("after login the page lists the three accounts",
                 lambda: len(driver.find_elements(By.CSS_SELECTOR, "section.account")) == 3)
        title = driver.title

        # States: the wrong password fails with its hint; the target's refusal shows as quarantine.
        check("failing" in text_of(driver, "broken", "state"), "broken shows as failing")
        check("authentication" in text_of(driver, "broken", "state"), "broken names the failure kind")
        check("password" in text_of(driver, "broken", "hint"), "broken's hint says to check the password")
        check(text_of(driver, "broken", "error") != "", "broken shows its error")
        check(text_of(driver, "home", "quarantined").startswith("2 ("), "home shows 2 quarantined with the reason")
        check("ago" in text_of(driver, "home", "last_checked") or "just now" in text_of(driver, "home", "last_checked"),
              "home says when it was last checked")

        # The hostile folder name is text, not markup.
        check(driver.find_elements(By.CSS_SELECTOR, "main img") == [], "no element was made of the folder name")
        check(driver.title == title and "pwned" not in driver.title, "no script of the folder name ran")
        source = panel(driver, "hostile").find_element(By.CSS_SELECTOR, ".source").text
        check(args.hostile in source, "the folder name is shown as the text it is")

        # Quarantine: the account page lists the two refused messages; retry makes them pending.
        panel(driver, "home").find_element(By.LINK_TEXT, "View history").click()
        wait_for("home's page lists its quarantined messages",
                 lambda: len(driver.find_elements(By.CSS_SELECTOR, "section.quarantine tbody tr")) == 2)
        check("quarantined-0" in driver.find_element(By.CSS_SELECTOR, "section.quarantine").text,
              "quarantined messages show their subject")
        check(len(driver.find_elements(By.CSS_SELECTOR, "section.history tbody tr")) >= 1, "home's history has its poll")
        driver.find_element(By.CSS_SELECTOR, "section.quarantine button.retry").click()  # "Retry all"
        wait_for("after retry nothing is quarantined",
                 lambda: "Nothing is quarantined." in driver.find_element(By.CSS_SELECTOR, "section.quarantine").text)
        check(text_of(driver, "home", "pending") == "2", "the retried messages are pending")

        # Check mail now: the poll runs and the page updates itself with the new count.
        panel(driver, "home").find_element(By.CSS_SELECTOR, "form.poll button").click()
        wait_for("after Check mail now the page shows 2 delivered",
                 lambda: "2 delivered in all" in text_of(driver, "home", "fetched"))
        wait_for("and nothing pending", lambda: text_of(driver, "home", "pending") == "0")

        driver.get(args.url + "/")
        wait_for("the chart has today's bar", lambda: len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 1)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1000, min(max(height + 150, 800), 4000))
        driver.save_screenshot(args.screenshot)
        print("ok: screenshot saved to " + args.screenshot, flush=True)
    finally:
        driver.quit()
    print("PASSED", flush=True)


if __name__ == "__main__":
    main()
