package pskc

// The XML shapes read from a PSKC file. Element names are matched by local
// name only, so files that use prefixes (pskc:Key) and files that use a
// default namespace (Key) read the same; the root element's namespace is
// checked by the decoder.

type xEncryptionKey struct {
	KeyName string    `xml:"KeyName"`
	Derived *xDerived `xml:"DerivedKey"`
	X509    *xX509    `xml:"X509Data"`
}

type xDerived struct {
	Method struct {
		Algorithm string        `xml:"Algorithm,attr"`
		Params    *xPBKDF2Param `xml:"PBKDF2-params"`
	} `xml:"KeyDerivationMethod"`
	MasterKeyName string `xml:"MasterKeyName"`
}

type xPBKDF2Param struct {
	Salt struct {
		Specified *string `xml:"Specified"`
	} `xml:"Salt"`
	IterationCount string `xml:"IterationCount"`
	KeyLength      string `xml:"KeyLength"`
	PRF            *struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"PRF"`
}

type xMACMethod struct {
	Algorithm string      `xml:"Algorithm,attr"`
	MACKey    *xEncrypted `xml:"MACKey"`
}

type xEncrypted struct {
	Method *struct {
		Algorithm string `xml:"Algorithm,attr"`
	} `xml:"EncryptionMethod"`
	CipherValue *string `xml:"CipherData>CipherValue"`
}

type xKeyPackage struct {
	DeviceInfo *struct {
		Manufacturer string `xml:"Manufacturer"`
		SerialNo     string `xml:"SerialNo"`
		Model        string `xml:"Model"`
	} `xml:"DeviceInfo"`
	CryptoModuleInfo *struct {
		ID string `xml:"Id"`
	} `xml:"CryptoModuleInfo"`
	Key []xKey `xml:"Key"`
}

type xKey struct {
	ID        string `xml:"Id,attr"`
	Algorithm string `xml:"Algorithm,attr"`
	Issuer    string `xml:"Issuer"`
	Params    *struct {
		Suite          string `xml:"Suite"`
		ResponseFormat *struct {
			Length   string `xml:"Length,attr"`
			Encoding string `xml:"Encoding,attr"`
		} `xml:"ResponseFormat"`
	} `xml:"AlgorithmParameters"`
	Data *struct {
		Secret       []xValue `xml:"Secret"`
		Counter      []xValue `xml:"Counter"`
		Time         []xValue `xml:"Time"`
		TimeInterval []xValue `xml:"TimeInterval"`
	} `xml:"Data"`
}

type xValue struct {
	Plain     []string     `xml:"PlainValue"`
	Encrypted []xEncrypted `xml:"EncryptedValue"`
	MAC       *string      `xml:"ValueMAC"`
}

type xX509 struct{}
